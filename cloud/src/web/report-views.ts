/**
 * The reports of a model repository as the dashboard reads them (docs/dashboard.md "Models"): the
 * JSON of `fogline quantize` (quantize.json) and of `fogline calibrate` (calibration.json), checked
 * field by field and cut down to what the Models page shows. The files come from outside the cloud
 * (whoever filled the repository), so nothing is passed on unchecked: numbers are finite and in
 * range, strings short, lists bounded, policies valid; the first problem is an INVALID_ARG naming the
 * file and the field. The frontier is drawn in the page from these numbers, never from an SVG file.
 */
import { FoglineError, parseRoutingPolicy, type RoutingPolicy } from '@fogline/shared';

/** A report past this many bytes is not read. */
export const MAX_REPORT_BYTES = 1024 * 1024;
const MAX_STRING = 600;
const MAX_LIST = 10_000;
const MAX_ROWS = 64;

export interface OutcomeView {
  accuracy: number;
  share: { device: number; edge: number; cloud: number };
  escalations: number;
  expectedLatencyMs: number;
}

export interface CascadePolicyView {
  device: RoutingPolicy;
  edge: RoutingPolicy;
}

export interface CalibrationView {
  command: string;
  split: string;
  evalSplit: string;
  objective: string;
  network: { deviceEdgeRttMs: number; edgeCloudRttMs: number };
  policiesSwept: number;
  tiers: {
    role: 'device' | 'edge' | 'cloud';
    model: string;
    version: number | null;
    accuracy: number;
    evalAccuracy: number;
    latencyMs: number;
  }[];
  /** The chosen policy (named "chosen"), the baselines and the oracle. */
  rows: {
    name: string;
    policy: CascadePolicyView | null;
    calibration: OutcomeView;
    evaluation: OutcomeView;
  }[];
  frontier: { policy: CascadePolicyView; outcome: OutcomeView }[];
}

export interface QuantizationReportView {
  input: string;
  settings: string;
  fp32Bytes: number;
  int8Bytes: number;
  sizeRatio: number;
  comparisons: {
    source: string;
    count: number;
    fp32Accuracy: number | null;
    int8Accuracy: number | null;
    accuracyDropPp: number | null;
    agreement: number;
  }[];
  latency: { batch: number; fp32Ms: number; int8Ms: number; ratio: number }[];
}

type Json = Record<string, unknown>;

/** Reads one report's fields, naming `<file>: <path>` in the first problem. */
class ReportReader {
  constructor(private readonly file: string) {}

  fail(at: string, problem: string): never {
    throw new FoglineError('INVALID_ARG', `${this.file}: ${at} ${problem}`, { details: { field: at } });
  }

  object(value: unknown, at: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(at, 'must be an object');
    return value as Json;
  }

  list<T>(value: unknown, at: string, max: number, item: (v: unknown, at: string) => T): T[] {
    if (!Array.isArray(value)) this.fail(at, 'must be a list');
    if (value.length > max) this.fail(at, `has ${value.length} entries, more than ${max}`);
    return value.map((v, i) => item(v, `${at}[${i}]`));
  }

  string(value: unknown, at: string): string {
    if (typeof value !== 'string' || value.length > MAX_STRING)
      this.fail(at, `must be a string of at most ${MAX_STRING} characters`);
    return value;
  }

  number(value: unknown, at: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      this.fail(at, `must be a number in [${min}, ${max}]`);
    return value;
  }

  fraction = (value: unknown, at: string): number => this.number(value, at, 0, 1);

  nullable<T>(value: unknown, read: (v: unknown) => T): T | null {
    return value === null || value === undefined ? null : read(value);
  }

  outcome = (value: unknown, at: string): OutcomeView => {
    const o = this.object(value, at);
    const share = this.object(o.share, `${at}.share`);
    return {
      accuracy: this.fraction(o.accuracy, `${at}.accuracy`),
      share: {
        device: this.fraction(share.device, `${at}.share.device`),
        edge: this.fraction(share.edge, `${at}.share.edge`),
        cloud: this.fraction(share.cloud, `${at}.share.cloud`),
      },
      escalations: this.number(o.escalations, `${at}.escalations`, 0, 2),
      expectedLatencyMs: this.number(o.expectedLatencyMs, `${at}.expectedLatencyMs`),
    };
  };

  policy = (value: unknown, at: string): CascadePolicyView => {
    const p = this.object(value, at);
    const stage = (role: 'device' | 'edge') =>
      parseRoutingPolicy(p[role], (field, problem) => this.fail(`${at}.${role}.${field}`, problem));
    return { device: stage('device'), edge: stage('edge') };
  };
}

/** Parses report text: JSON, an object at the top. */
function parseReport(text: string, file: string): Json {
  try {
    return new ReportReader(file).object(JSON.parse(text), 'the report');
  } catch (cause) {
    if (cause instanceof FoglineError) throw cause;
    throw new FoglineError('INVALID_ARG', `${file}: not valid JSON`, { cause });
  }
}

const ROLES = ['device', 'edge', 'cloud'] as const;

export function calibrationView(text: string, file: string): CalibrationView {
  const r = new ReportReader(file);
  const o = parseReport(text, file);
  const network = r.object(o.network, 'network');
  return {
    command: r.string(o.command, 'command'),
    split: r.string(o.split, 'split'),
    evalSplit: r.string(o.evalSplit, 'evalSplit'),
    objective: r.string(o.objective, 'objective'),
    network: {
      deviceEdgeRttMs: r.number(network.deviceEdgeRttMs, 'network.deviceEdgeRttMs'),
      edgeCloudRttMs: r.number(network.edgeCloudRttMs, 'network.edgeCloudRttMs'),
    },
    policiesSwept: r.number(o.policiesSwept, 'policiesSwept'),
    tiers: r.list(o.tiers, 'tiers', 3, (v, at) => {
      const t = r.object(v, at);
      if (!ROLES.includes(t.role as (typeof ROLES)[number]))
        r.fail(`${at}.role`, 'must be device, edge or cloud');
      return {
        role: t.role as (typeof ROLES)[number],
        model: r.string(t.model, `${at}.model`),
        version: r.nullable(t.version, (x) => r.number(x, `${at}.version`, 1)),
        accuracy: r.fraction(t.accuracy, `${at}.accuracy`),
        evalAccuracy: r.fraction(t.evalAccuracy, `${at}.evalAccuracy`),
        latencyMs: r.number(t.latencyMs, `${at}.latencyMs`),
      };
    }),
    rows: r.list(o.rows, 'rows', MAX_ROWS, (v, at) => {
      const row = r.object(v, at);
      return {
        name: r.string(row.name, `${at}.name`),
        policy: r.nullable(row.policy, (x) => r.policy(x, `${at}.policy`)),
        calibration: r.outcome(row.calibration, `${at}.calibration`),
        evaluation: r.outcome(row.evaluation, `${at}.evaluation`),
      };
    }),
    frontier: r.list(o.frontier, 'frontier', MAX_LIST, (v, at) => {
      const point = r.object(v, at);
      return {
        policy: r.policy(point.policy, `${at}.policy`),
        outcome: r.outcome(point.outcome, `${at}.outcome`),
      };
    }),
  };
}

export function quantizationView(text: string, file: string): QuantizationReportView {
  const r = new ReportReader(file);
  const o = parseReport(text, file);
  const accuracy = (v: unknown, at: string) => r.nullable(v, (x) => r.fraction(x, at));
  return {
    input: r.string(o.input, 'input'),
    settings: r.string(o.settings, 'settings'),
    fp32Bytes: r.number(o.fp32Bytes, 'fp32Bytes'),
    int8Bytes: r.number(o.int8Bytes, 'int8Bytes'),
    sizeRatio: r.number(o.sizeRatio, 'sizeRatio', 0, 10),
    comparisons: r.list(o.comparisons, 'comparisons', MAX_ROWS, (v, at) => {
      const c = r.object(v, at);
      return {
        source: r.string(c.source, `${at}.source`),
        count: r.number(c.count, `${at}.count`),
        fp32Accuracy: accuracy(c.fp32Accuracy, `${at}.fp32Accuracy`),
        int8Accuracy: accuracy(c.int8Accuracy, `${at}.int8Accuracy`),
        accuracyDropPp: r.nullable(c.accuracyDropPp, (x) => r.number(x, `${at}.accuracyDropPp`, -100, 100)),
        agreement: r.fraction(c.agreement, `${at}.agreement`),
      };
    }),
    latency: r.list(o.latency ?? [], 'latency', MAX_ROWS, (v, at) => {
      const l = r.object(v, at);
      return {
        batch: r.number(l.batch, `${at}.batch`, 1),
        fp32Ms: r.number(l.fp32Ms, `${at}.fp32Ms`),
        int8Ms: r.number(l.int8Ms, `${at}.int8Ms`),
        ratio: r.number(l.ratio, `${at}.ratio`),
      };
    }),
  };
}
