"""Test code: a live database as seed 003 describes it, the one a team comes to adopt: the seed's
SQL exactly as the seed writes it (tests/fixtures/seed_003_schema.sql: schema public, no RLS)
and rows across its clients.

Rows have fixed keys (md5 of a label, as uuid), so a test can name them: client n's client_id
is client_key(n).
"""

import hashlib
import uuid
from pathlib import Path

import psycopg

SCHEMA_SQL = Path(__file__).resolve().parents[1] / "fixtures" / "seed_003_schema.sql"
TABLES = ("clients", "lead_memory", "lead_actions", "growth_brain", "prospect_candidates", "prospect_outreach_log")

ROWS = [
    """INSERT INTO public.clients (client_id, business_name, email, password_hash, api_key, language)
       SELECT md5('client-' || c)::uuid, 'Client ' || c, 'client-' || c || '@example.com', 'hash-' || c,
              'key-' || c, CASE WHEN mod(c, 2) = 0 THEN 'fr' ELSE 'en' END
       FROM generate_series(1, %(clients)s) AS c""",
    """INSERT INTO public.lead_memory (id, email, name, client_id, confidence_score, current_tag, urgency)
       SELECT md5('lead-' || c || '-' || l)::uuid, 'lead-' || c || '-' || l || '@example.org', 'Lead ' || l,
              md5('client-' || c)::uuid, mod(l, 100) / 100.0,
              (ARRAY['Active', 'Follow-Up', 'Converted', 'Archived'])[1 + mod(l, 4)],
              (ARRAY['Low', 'High'])[1 + mod(l, 2)]
       FROM generate_series(1, %(clients)s) AS c, generate_series(1, %(leads)s) AS l""",
    """INSERT INTO public.lead_actions (lead_id, client_id, action_type, tag)
       SELECT id, client_id, 'insert', current_tag FROM public.lead_memory""",
    """INSERT INTO public.growth_brain (client_id, event_type, learning_snapshot, confidence)
       SELECT md5('client-' || c)::uuid, 'engagement_score', jsonb_build_object('score', c), 0.5
       FROM generate_series(1, %(clients)s) AS c""",
    """INSERT INTO public.prospect_candidates (id, business_name, response_score, automation_need_score)
       SELECT md5('prospect-' || p)::uuid, 'Prospect ' || p, mod(p, 100), 100 - mod(p, 100)
       FROM generate_series(1, %(clients)s) AS p""",
    """INSERT INTO public.prospect_outreach_log (prospect_id, email_subject, email_body)
       SELECT id, 'Hello', 'Body' FROM public.prospect_candidates""",
]


def client_key(n: int) -> str:
    """The client_id of client n (1-based)."""
    return str(uuid.UUID(hashlib.md5(f"client-{n}".encode()).hexdigest()))


def prepare(conn: psycopg.Connection, clients: int = 3, leads_per_client: int = 4) -> None:
    """Create the seed's tables in `conn`'s database exactly as the seed writes them, then
    `clients` clients with `leads_per_client` leads each (one action per lead), one growth_brain
    row per client, and as many prospects with one outreach email each."""
    conn.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    for statement in ROWS:
        conn.execute(statement, {"clients": clients, "leads": leads_per_client})
