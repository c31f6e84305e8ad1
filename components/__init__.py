"""pgstack: PostgreSQL and Supabase schemas as Pulumi resources."""
