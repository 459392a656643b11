-- The audit log is evidence of who changed what: the application only ever adds to it, and the
-- database now refuses to change or remove an event (UPDATE, DELETE, TRUNCATE), so neither a
-- bug nor a statement smuggled through the application can rewrite history. Only the table's
-- owner dropping these triggers could, and that is itself a schema change outside the app.
-- No semicolon may appear in this file but between statements: `prisma migrate deploy` (through
-- its PostgreSQL driver adapter) cuts the script at every one, quoted or not. The semicolon the
-- function body needs is written \073 (octal) in an escaped string.
CREATE FUNCTION "fm_audit_append_only"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  RAISE EXCEPTION ''audit events are append-only: % on audit_events refused'', TG_OP
    USING ERRCODE = ''insufficient_privilege''\073
END
';

CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "fm_audit_append_only"();
CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "fm_audit_append_only"();
