"""Log files into the documented tables, as Athena's SerDes would read them.

Independent of deadbolt's own loaders on purpose: the compiled SQL does the
normalisation the native loaders do (`-` is absent, Route 53 names without
their final dot and in lower case, RFC 3339 times), so the tables must hold
the logs as written:

- VPC Flow Logs (LazySimpleSerDe, fields split on spaces): number columns
  NULL for `-` or text that is not a number, string columns as written (`-`
  included). The header line names the fields (as in files AWS delivers to
  S3); a file without one is the default version-2 format. Columns of the
  table that the file's format lacks are NULL.
- CloudTrail (CloudTrail SerDe / Hive JsonSerDe): `{"Records": [...]}`, a JSON
  array, JSON lines or one event; columns matched without case; a STRING
  column holds strings as they are and anything else as its JSON text (so
  `requestparameters` is the JSON of the object); structs member by member.
- Route 53 Resolver query logs (OpenX JsonSerDe): JSON lines, the same rules;
  `srcport` (an int column) from its string.

Each row also carries its file, in `filename` (DuckDB's read_csv/read_json
column) and `$path` (Athena's and Trino's pseudo-column).
"""

import gzip
import json

DEFAULT_V2 = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
              "packets bytes start end action log-status").split()


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def looks_like_header(tokens):
    return all(t.replace("-", "").replace("_", "").isalpha() and t == t.lower() for t in tokens)


def flow_rows(path, columns):
    """Rows for the flow table, whose columns are [(name, duckdb type id)]."""
    lines = read_text(path).splitlines()
    fields = DEFAULT_V2
    if lines and looks_like_header(lines[0].split()):
        fields = lines[0].split()
        lines = lines[1:]
    fields = [f.replace("-", "_") for f in fields]
    rows = []
    for line in lines:
        if not line.strip():
            continue
        tokens = line.split()
        by_name = dict(zip(fields, tokens))
        row = []
        for name, ty in columns:
            if name in ("filename", "$path"):
                row.append(path)
                continue
            text = by_name.get(name)
            if text is None:
                row.append(None)
            elif ty in ("integer", "bigint"):
                row.append(int(text) if text.isdigit() else None)
            else:
                row.append(text)
        rows.append(tuple(row))
    return rows


def json_values(path):
    """The JSON documents of a file: one whole document, or one per line."""
    text = read_text(path)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def cloudtrail_events(path):
    out = []
    for doc in json_values(path):
        if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
            out.extend(doc["Records"])
        elif isinstance(doc, list):
            out.extend(doc)
        else:
            out.append(doc)
    return [e for e in out if isinstance(e, dict) and ("eventName" in e or "eventVersion" in e)]


def route53_events(path):
    return [e for e in json_values(path) if isinstance(e, dict) and "query_name" in e]


def lookup(d, name):
    """A member matched without case, as Hive's SerDes match columns."""
    if name in d:
        return d[name]
    low = name.lower()
    for k, v in d.items():
        if k.lower() == low:
            return v
    return None


def convert(value, ty):
    """A JSON value for a column of DuckDB type `ty` (a DuckDBPyType)."""
    kind = ty.id
    if value is None:
        return None
    if kind == "varchar":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if kind in ("integer", "bigint"):
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return None
    if kind == "struct":
        if not isinstance(value, dict):
            return None
        return {name: convert(lookup(value, name), child) for name, child in ty.children}
    if kind == "list":
        if not isinstance(value, list):
            return None
        child = ty.children[0][1]
        return [convert(v, child) for v in value]
    # MAP columns (webidfederationdata.attributes) are not read by the detections.
    return None


def event_rows(events, path, columns):
    rows = []
    for e in events:
        row = []
        for name, ty in columns:
            if name in ("filename", "$path"):
                row.append(path)
            else:
                row.append(convert(lookup(e, name), ty))
        rows.append(tuple(row))
    return rows


def columns_of(con, table):
    rel = con.table(table)
    return list(zip(rel.columns, rel.dtypes))


def load(con, source, table, path):
    """Loads one log file into `table`; returns the number of rows."""
    cols = columns_of(con, table)
    if source == "flowlog":
        rows = flow_rows(path, [(n, t.id) for n, t in cols])
    elif source == "cloudtrail":
        rows = event_rows(cloudtrail_events(path), path, cols)
    else:
        rows = event_rows(route53_events(path), path, cols)
    if rows:
        marks = ", ".join("?" for _ in cols)
        names = ", ".join('"%s"' % n for n, _ in cols)
        con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    return len(rows)


def sniff(path):
    """flowlog, cloudtrail or dns, by content."""
    text = read_text(path).lstrip()
    if text.startswith("{") or text.startswith("["):
        return "dns" if '"query_name"' in text[:4096] else "cloudtrail"
    return "flowlog"
