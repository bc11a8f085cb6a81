"""Profile of the heavy in-process prefetch path (Flask app, JWT and database on) with cProfile.

Prints the top functions by own time and by cumulative time; ``--profile-out FILE`` keeps the listing.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats

from bench.common import Context
from bench.patients import heavy_patient
from bench.service import HOOK_PATH, inprocess_app, service_config

TOP = 25


def run(ctx: Context) -> None:
    ctx.heading("Profile: heavy patient, prefetch, via Flask (cProfile)")
    config = service_config(ctx.workdir, ctx.signer, db_url=str(ctx.workdir / "profile.sqlite"))
    client = inprocess_app(config, ctx.catalogue).test_client()
    body = json.dumps(heavy_patient(ctx.today).hook_request()).encode()
    aud = "http://localhost" + HOOK_PATH
    calls = ctx.reps(5, 2)
    tokens = [ctx.signer.token(aud) for _ in range(calls + 1)]
    client.post(
        HOOK_PATH,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens[0]}"},
    )
    profiler = cProfile.Profile()
    profiler.enable()
    for token in tokens[1:]:
        client.post(
            HOOK_PATH,
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.strip_dirs()
    text.write(f"{calls} hook calls\n")
    stats.sort_stats("tottime").print_stats(TOP)
    stats.sort_stats("cumulative").print_stats(TOP)
    listing = text.getvalue()
    out = ctx.profile_out
    if out:
        out.write_text(listing)
        ctx.say(f"profile written to {out}")
    for row in listing.splitlines():
        if row.strip():
            print("    " + row[:160])
