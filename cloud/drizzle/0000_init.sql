CREATE TABLE "api_keys" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "api_keys_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"rate_per_sec" double precision NOT NULL,
	"burst" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_name_unique" UNIQUE("name"),
	CONSTRAINT "api_keys_rate_positive" CHECK ("api_keys"."rate_per_sec" > 0),
	CONSTRAINT "api_keys_burst_positive" CHECK ("api_keys"."burst" >= 1)
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" text PRIMARY KEY NOT NULL,
	"edge_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "edges" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"model" text NOT NULL,
	"version" integer NOT NULL,
	"tier" text NOT NULL,
	"sha256" text NOT NULL,
	"bytes" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status" text NOT NULL,
	CONSTRAINT "model_versions_model_version_pk" PRIMARY KEY("model","version"),
	CONSTRAINT "model_versions_version_positive" CHECK ("model_versions"."version" >= 1),
	CONSTRAINT "model_versions_tier_valid" CHECK ("model_versions"."tier" in ('device', 'edge', 'cloud')),
	CONSTRAINT "model_versions_status_valid" CHECK ("model_versions"."status" in ('staged', 'active', 'retired')),
	CONSTRAINT "model_versions_bytes_nonnegative" CHECK ("model_versions"."bytes" >= 0)
);
--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_edge_id_edges_id_fk" FOREIGN KEY ("edge_id") REFERENCES "public"."edges"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_key_prefix_idx" ON "api_keys" USING btree ("key_prefix");--> statement-breakpoint
CREATE INDEX "devices_edge_id_idx" ON "devices" USING btree ("edge_id");