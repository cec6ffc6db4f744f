CREATE TABLE "edge_policies" (
	"edge_id" text PRIMARY KEY NOT NULL,
	"directive" jsonb,
	"pinned" boolean DEFAULT false NOT NULL,
	"conservative" boolean DEFAULT false NOT NULL,
	"last_change_at" timestamp with time zone,
	"last_decision" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "policy_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"edge_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"source" text NOT NULL,
	"action" text NOT NULL,
	"from_policy" jsonb,
	"to_policy" jsonb,
	"why" text NOT NULL,
	"figures" jsonb,
	CONSTRAINT "policy_changes_source_valid" CHECK ("policy_changes"."source" in ('controller', 'operator'))
);
--> statement-breakpoint
CREATE INDEX "policy_changes_edge_idx" ON "policy_changes" USING btree ("edge_id","id");