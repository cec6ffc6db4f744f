/**
 * Quantization and calibration of the models the cloud serves, for the dashboard's Models page
 * (docs/dashboard.md "Models"), read from the cloud's model repository:
 *
 *   GET /api/models/{name}/reports   (admin: token or session)
 *     → 200 { model, tier, routing, versions: [{ version, precision, quantization }], calibration }
 *       400 a name that is not a model name, 404 no such model in the repository
 *
 * Per version, its precision from its ONNX graph (toolchain `precisionOf`: fp32, or int8 static /
 * dynamic) and the `fogline quantize --into` report beside it (`<v>/quantize.json`); per model, the
 * `fogline calibrate` report its routing came from (`calibration.json`), with this model's role in
 * it and whether the config still holds the chosen thresholds. A report that is too large or not of
 * the expected shape is answered as `{ error }` in its place: the rest of the page still shows.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError, fromUnknown, type RoutingPolicy } from '@fogline/shared';
import { loadModelEntry, MODEL_REPORT_FILES } from '@fogline/shared/model-repository';
import { decodeModel, type ModelPrecision, precisionOf } from '@fogline/toolchain';
import type { Hono } from 'hono';
import { checkName } from '../store/validation.ts';
import {
  type CalibrationView,
  calibrationView,
  MAX_REPORT_BYTES,
  type QuantizationReportView,
  quantizationView,
} from './report-views.ts';

/** ONNX files past this size are not decoded to find their precision (it shows as unknown). */
const MAX_INSPECTED_BYTES = 64 * 1024 * 1024;

export type ReportOrError<T> = T | { error: string } | null;

export interface ModelReportsView {
  model: string;
  tier: string;
  /** The config's routing policy. */
  routing: RoutingPolicy;
  versions: {
    version: number;
    /** null: the file was not inspected (too large, or unreadable: `precisionError`). */
    precision: ModelPrecision | null;
    precisionError?: string;
    quantization: ReportOrError<QuantizationReportView>;
  }[];
  calibration: ReportOrError<
    CalibrationView & {
      /** sha256 of the file: models calibrated together share one report. */
      sha256: string;
      /** This model's tier in the calibrated cascade; null when the report does not name it. */
      role: 'device' | 'edge' | 'cloud' | null;
      /** Whether the config's routing is the chosen policy's for that role (null: not a routed role). */
      matchesConfig: boolean | null;
    }
  >;
}

export class ModelReports {
  /** Precision per ONNX file, while its size and mtime stay the same. */
  private readonly precisions = new Map<string, { key: string; precision: ModelPrecision }>();

  constructor(readonly repositoryDir: string) {}

  async of(name: string): Promise<ModelReportsView> {
    checkName('model name', name);
    const entry = await loadModelEntry(this.repositoryDir, name).catch((cause) => {
      const err = fromUnknown(cause);
      throw err.code === 'NOT_FOUND'
        ? new FoglineError('NOT_FOUND', `unknown model "${name}"`, { cause })
        : err;
    });
    const versions = await Promise.all(
      entry.versions.map(async (version) => {
        const file = entry.modelPath(version);
        const quantization = await readReport(
          join(entry.dir, String(version), MODEL_REPORT_FILES.quantization),
          quantizationView,
        );
        try {
          return { version, precision: await this.precision(file), quantization };
        } catch (cause) {
          return { version, precision: null, precisionError: fromUnknown(cause).message, quantization };
        }
      }),
    );
    const routing = entry.config.routing;
    const report = await readReport(join(entry.dir, MODEL_REPORT_FILES.calibration), calibrationView);
    let calibration: ModelReportsView['calibration'] = report === null || 'error' in report ? report : null;
    if (report !== null && !('error' in report)) {
      const role = report.tiers.find((t) => t.model === name)?.role ?? null;
      const chosen = report.rows.find((row) => row.name === 'chosen')?.policy;
      const stage = role === 'device' || role === 'edge' ? chosen?.[role] : undefined;
      calibration = {
        ...report,
        role,
        matchesConfig:
          stage === undefined ? null : stage.score === routing.score && stage.threshold === routing.threshold,
      };
    }
    return { model: name, tier: entry.config.tier, routing, versions, calibration };
  }

  private async precision(file: string): Promise<ModelPrecision | null> {
    const { size, mtimeMs } = await stat(file);
    if (size > MAX_INSPECTED_BYTES) return null;
    const key = `${size}:${mtimeMs}`;
    const known = this.precisions.get(file);
    if (known?.key === key) return known.precision;
    const precision = precisionOf(decodeModel(await readFile(file), file));
    this.precisions.set(file, { key, precision });
    return precision;
  }
}

/** A report beside the model: null when there is none, `{ error }` when it cannot be used. */
async function readReport<T>(
  file: string,
  view: (text: string, file: string) => T,
): Promise<(T & { sha256: string }) | { error: string } | null> {
  const name = file.split(/[\\/]/).slice(-2).join('/');
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > MAX_REPORT_BYTES) return { error: `${name}: ${size} bytes, more than ${MAX_REPORT_BYTES}` };
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { error: `${name}: cannot read it (${fromUnknown(cause).message})` };
  }
  try {
    return { ...view(text, name), sha256: createHash('sha256').update(text).digest('hex') };
  } catch (cause) {
    return { error: fromUnknown(cause).message };
  }
}

export function registerModelReportRoutes(app: Hono, reports: ModelReports): void {
  app.get('/api/models/:name/reports', async (c) => c.json(await reports.of(c.req.param('name'))));
}
