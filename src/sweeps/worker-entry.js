// Worker thread entry: registers tsx so the TypeScript worker module loads in any launch mode.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
