/** A plotly figure as plain JSON: what Plotly.newPlot and Plotly.toImage take. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  /** a file-name-safe name, e.g. "convergence-D1" */
  name: string;
}
