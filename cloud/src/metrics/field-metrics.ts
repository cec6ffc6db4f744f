/**
 * Field accuracy per edge over its window (docs/field-accuracy.md "Field accuracy, live"), read at
 * scrape time: agreement with the truth per tier and its Wilson bounds, records, share answered per
 * tier, audit rate, whether the reference looks weak, and whether this replica runs the controller.
 * Unknown values (no records yet) are left out rather than exported as NaN.
 */
import { TIERS, type Tier } from '@fogline/shared';
import { Gauge, type Registry } from 'prom-client';
import type { ControllerService } from '../controller/controller-service.ts';
import type { FieldAccuracy } from '../controller/field-accuracy.ts';

export type FieldSource = Pick<ControllerService, 'windows' | 'field' | 'control' | 'leader'>;

export function registerFieldMetrics(registry: Registry, source: FieldSource): void {
  const registers = [registry];
  const perTier = (name: string, help: string, read: (f: FieldAccuracy, t: Tier) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['edge', 'tier'],
      registers,
      collect() {
        this.reset();
        for (const edge of source.windows.edges()) {
          const f = source.field(edge);
          for (const tier of TIERS) {
            const v = read(f, tier);
            if (Number.isFinite(v)) this.set({ edge, tier }, v);
          }
        }
      },
    });
  perTier(
    'fogline_field_agreement',
    "Agreement with the truth (ground truth, else the cloud reference) over the edge's window, weighted 1/p.",
    (f, t) => f.tiers[t].agreement.estimate,
  );
  perTier(
    'fogline_field_agreement_low',
    'Lower 95 % Wilson bound of fogline_field_agreement.',
    (f, t) => f.tiers[t].agreement.low,
  );
  perTier(
    'fogline_field_agreement_high',
    'Upper 95 % Wilson bound of fogline_field_agreement.',
    (f, t) => f.tiers[t].agreement.high,
  );
  perTier(
    'fogline_field_tier_share',
    "Share of the edge's traffic each tier answered, over its window (weighted 1/p).",
    (f, t) => f.tiers[t].share,
  );
  const perEdge = (name: string, help: string, read: (edge: string) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['edge'],
      registers,
      collect() {
        this.reset();
        for (const edge of source.windows.edges()) {
          const v = read(edge);
          if (Number.isFinite(v)) this.set({ edge }, v);
        }
      },
    });
  perEdge(
    'fogline_field_records',
    "Audit records in the edge's field-record window.",
    (e) => source.field(e).records,
  );
  perEdge(
    'fogline_audit_rate',
    "Audits per request over the edge's window (records / sum of 1/p).",
    (e) => source.field(e).auditRate,
  );
  perEdge(
    'fogline_reference_weak',
    "1 while the controller finds the reference (the cloud) weak on the edge's traffic.",
    (e) => (source.control(e).weakReference === undefined ? 0 : 1),
  );
  new Gauge({
    name: 'fogline_controller_leader',
    help: '1 while this replica holds the controller lease and runs the controller.',
    registers,
    collect() {
      this.set(source.leader ? 1 : 0);
    },
  });
}
