export { validateDataset, type Dataset } from './dataset.js';
export { datasetToCsv, formatNumber, parseDatasetCsv } from './csv.js';
