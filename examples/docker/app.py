"""A minimal Flask service for the compose example: its schema is managed by dapp."""
import os

import psycopg2
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/health")
def health():
    with psycopg2.connect(os.environ["DATABASE_URL"].replace("+psycopg2", "")) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT version_num FROM alembic_version")
            heads = [r[0] for r in cur.fetchall()]
    return jsonify(status="ok", schema=heads)
