/**
 * Field accuracy and policies as the admin API shows them (http/routes/field.ts; built in
 * policy-admin.ts), and the bodies it takes: the JSON `fogline status` and `fogline policy` read.
 */
import type { AuditRateSource } from '@fogline/shared';

/** A routing stage as the API shows it. */
export interface StageView {
  score: string;
  threshold: number;
}

/** One tier's field accuracy over an edge's window; null where nothing is known yet. */
export interface TierFieldView {
  agreement: number | null;
  low: number | null;
  high: number | null;
  n: number;
  share: number | null;
}

export interface EdgeFieldView {
  edge: string;
  online: boolean;
  drift_alarm: boolean | null;
  field: {
    records: number;
    audit_rate: number | null;
    tiers: Record<'device' | 'edge' | 'cloud', TierFieldView>;
  };
  policy: { device: StageView | null; edge: StageView } | null;
  audit_rate: AuditRateView;
  pinned: boolean;
  conservative: boolean;
  reference_weak: string | null;
}

export interface FleetFieldView {
  controller_leader: boolean;
  edges: EdgeFieldView[];
}

export interface PolicyView {
  edge: string;
  current: {
    device: StageView | null;
    edge: StageView;
    applied: string | null;
    pinned_on_edge: boolean;
  } | null;
  desired: { id: string; reason: string; device: StageView; edge: StageView } | null;
  audit_rate: AuditRateView;
  pinned: boolean;
  conservative: boolean;
  reference_weak: string | null;
  last_change_at: string | null;
  last_decision: { action: string; why: string; figures: Record<string, unknown> | null; at: string } | null;
}

export interface PolicyChangeView {
  id: number;
  at: string;
  source: 'controller' | 'operator';
  action: string;
  from: { device: StageView; edge: StageView } | null;
  to: { device: StageView; edge: StageView } | null;
  why: string;
  figures: Record<string, unknown> | null;
}

export interface PinBody {
  device: StageView;
  edge: StageView;
  reason?: string;
}

/**
 * The devices' audit rate of an edge (docs/field-accuracy.md "The audit rate"): what the edge says is
 * in effect and why (null before its first telemetry), and the operator's rate the cloud holds for it
 * (null: none, the edge's own flag rules).
 */
export interface AuditRateView {
  in_effect: { rate: number; source: AuditRateSource } | null;
  operator: number | null;
}

export interface AuditRateBody {
  rate: number;
  reason?: string;
}
