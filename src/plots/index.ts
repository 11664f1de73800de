export type { Figure } from './types.js';
export { convergenceFigure, type ConvergenceInput } from './convergence.js';
export { parameterPanels, type PanelInput } from './panels.js';
export { alignFit, densityFigure, gateWeightsFigure, voronoiFigure } from './model-figures.js';
export { chromiumPath, copyPlotly, ExportError, figuresToHtml, plotlyPath, renderImages, type ImageJob } from './export.js';
export { criteriaFigure, dendrogramFigure, selectionFrequencyFigure } from './selection.js';
export { sideBySideFigure, type SideCurve } from './side-by-side.js';
