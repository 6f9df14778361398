// The console's own ECharts build (``make assets``: esbuild bundles this file from the npm
// package into static/vendor/echarts-console.min.js). Only what the console's charts use, so
// a chart page stays within the 400 KB page-weight budget: the full build alone is ≈ 365 KB
// gzipped. A chart option that needs a part not listed here is silently not drawn by ECharts'
// production build: add the part here (and see docs/console.md, "Page weight").
import * as echarts from "echarts/core";
import { LineChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent, // kpi.js: the DTI chart's scrolling legend (plain and scroll both)
  MarkLineComponent, // the alarm levels and targets drawn across the charts
  TooltipComponent, // trigger "axis" (brings the axis pointer with it)
  VisualMapPiecewiseComponent, // entity.js: the VN_AQI bands' colours on the AQI line
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  LineChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapPiecewiseComponent,
  CanvasRenderer,
]);

export * from "echarts/core";
