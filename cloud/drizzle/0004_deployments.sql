CREATE TABLE "deployment_edges" (
	"deployment_id" text NOT NULL,
	"edge_id" text NOT NULL,
	"stage" text NOT NULL,
	"state" text NOT NULL,
	"received_bytes" bigint,
	"total_bytes" bigint,
	"failure" text,
	"previous" jsonb,
	"gate" jsonb,
	"active_since" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployment_edges_deployment_id_edge_id_pk" PRIMARY KEY("deployment_id","edge_id"),
	CONSTRAINT "deployment_edges_stage_valid" CHECK ("deployment_edges"."stage" in ('canary', 'rest'))
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"version" integer NOT NULL,
	"sha256" text NOT NULL,
	"bytes" bigint NOT NULL,
	"edges_selector" jsonb NOT NULL,
	"canary_share" double precision NOT NULL,
	"canary_healthy_ms" bigint NOT NULL,
	"gate" jsonb,
	"device" jsonb,
	"state" text NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployments_state_valid" CHECK ("deployments"."state" in ('staged', 'canary', 'rolling', 'done', 'failed', 'rolled_back')),
	CONSTRAINT "deployments_canary_share_valid" CHECK ("deployments"."canary_share" > 0 and "deployments"."canary_share" <= 1)
);
--> statement-breakpoint
ALTER TABLE "deployment_edges" ADD CONSTRAINT "deployment_edges_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deployment_edges_edge_idx" ON "deployment_edges" USING btree ("edge_id");--> statement-breakpoint
CREATE INDEX "deployments_model_idx" ON "deployments" USING btree ("model","created_at");