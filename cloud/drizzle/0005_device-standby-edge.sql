ALTER TABLE "devices" ADD COLUMN "standby_edge_id" text;--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_standby_edge_id_edges_id_fk" FOREIGN KEY ("standby_edge_id") REFERENCES "public"."edges"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "devices_standby_edge_id_idx" ON "devices" USING btree ("standby_edge_id");