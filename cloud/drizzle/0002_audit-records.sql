CREATE TABLE "audit_records" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_records_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"source" text NOT NULL,
	"edge_id" text NOT NULL,
	"device_id" text NOT NULL,
	"request_id" text NOT NULL,
	"answered_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rate" double precision NOT NULL,
	"answer_tier" text NOT NULL,
	"device_model" text NOT NULL,
	"device_outputs" jsonb NOT NULL,
	"device_score" double precision NOT NULL,
	"device_label" integer NOT NULL,
	"edge_model" text,
	"edge_outputs" jsonb,
	"edge_score" double precision,
	"edge_label" integer,
	"cloud_model" text NOT NULL,
	"cloud_outputs" jsonb NOT NULL,
	"cloud_score" double precision NOT NULL,
	"cloud_label" integer NOT NULL,
	"feedback_label" integer,
	"input" jsonb,
	"input_expires_at" timestamp with time zone,
	CONSTRAINT "audit_records_rate_valid" CHECK ("audit_records"."rate" > 0 and "audit_records"."rate" <= 1)
);
--> statement-breakpoint
CREATE INDEX "audit_records_edge_created_idx" ON "audit_records" USING btree ("edge_id","created_at");--> statement-breakpoint
CREATE INDEX "audit_records_created_idx" ON "audit_records" USING btree ("created_at");