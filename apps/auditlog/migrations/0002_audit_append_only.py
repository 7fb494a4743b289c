from django.db import migrations

# Created in each schema the app migrates (public and every client); the function lands in that
# schema too, because it is first on the search_path while the migration runs.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION gaby_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON auditlog_auditevent
    FOR EACH ROW EXECUTE FUNCTION gaby_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON auditlog_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION gaby_audit_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS audit_no_update_delete ON auditlog_auditevent;
DROP TRIGGER IF EXISTS audit_no_truncate ON auditlog_auditevent;
DROP FUNCTION IF EXISTS gaby_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY, reverse_sql=REMOVE)]
