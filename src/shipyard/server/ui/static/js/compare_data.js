// What the compare page plots, from the runs it embeds: {id, name, color, params, metrics}.
import { axisRange } from "./parcoords.js";

export const SYSTEM_PREFIX = "system/";
const MAX_DIMENSIONS = 14;

/** Metric keys (not system/...) that at least two of the runs have, sorted. */
export function sharedMetricKeys(runs) {
  const counts = new Map();
  for (const run of runs) {
    for (const key of Object.keys(run.metrics)) counts.set(key, (counts.get(key) || 0) + 1);
  }
  return [...counts].filter(([key, n]) => n >= 2 && !key.startsWith(SYSTEM_PREFIX))
    .map(([key]) => key).sort((a, b) => a.localeCompare(b));
}

const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * Parallel-coordinates axes: numeric params every run has, then final values of metrics every
 * run has; axes where the runs differ come first, at most MAX_DIMENSIONS in all.
 */
export function numericDimensions(runs) {
  const candidates = [];
  const keys = (field) => [...new Set(runs.flatMap((r) => Object.keys(r[field])))].sort();
  for (const key of keys("params")) {
    const values = runs.map((r) => r.params[key]);
    if (values.every(isNumber)) candidates.push({ label: key, values });
  }
  for (const key of keys("metrics").filter((k) => !k.startsWith(SYSTEM_PREFIX))) {
    const values = runs.map((r) => r.metrics[key]);
    if (values.every(isNumber)) candidates.push({ label: key, values });
  }
  const differs = (d) => new Set(d.values).size > 1;
  const ordered = [...candidates.filter(differs), ...candidates.filter((d) => !differs(d))];
  return ordered.slice(0, MAX_DIMENSIONS).map((d) => ({ ...d, range: axisRange(d.values) }));
}
