//! PostgreSQL catalogs -> `Catalog`: the only I/O of the catalog room. A dozen catalog queries
//! sent at once (pipelined, one read-only snapshot), then assembled in Rust. User objects only:
//! system schemas and objects that belong to an extension are left out.

use std::collections::{HashMap, HashSet};

use tokio_postgres::{Client, Row};

use super::model::*;
use super::render::{ident, qname};
use super::InspectOptions;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("reading the schema from the database catalogs failed ({what}): {source}; check that the role may read the system catalogs")]
    Query {
        what: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("reading the schema from the database catalogs: unexpected value in {what}: {source}")]
    Value {
        what: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Schemas that are PostgreSQL's own.
fn user_schema(n: &str) -> String {
    format!("{n}.nspname NOT IN ('pg_catalog', 'information_schema') AND {n}.nspname !~ '^pg_(toast|temp_)'")
}

/// Not a member of an extension.
fn not_ext(class: &str, oid: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass AND e.objid = {oid} AND e.deptype = 'e')")
}

fn coll_sql(oid: &str) -> String {
    format!(
        "(SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) \
         ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END \
         FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = {oid})"
    )
}

fn queries() -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    q.push((
        "schemas",
        format!(
            "SELECT n.oid, n.nspname::text FROM pg_namespace n WHERE {} AND {}",
            user_schema("n"),
            not_ext("pg_namespace", "n.oid")
        ),
    ));
    q.push((
        "extensions",
        "SELECT x.oid, x.extname::text, n.nspname::text, x.extversion FROM pg_extension x \
         JOIN pg_namespace n ON n.oid = x.extnamespace"
            .to_owned(),
    ));
    q.push((
        "collations",
        format!(
            "SELECT c.oid, n.nspname::text, c.collname::text, c.collprovider::text, \
             c.collcollate::text, c.collctype::text, \
             coalesce(to_jsonb(c)->>'colllocale', to_jsonb(c)->>'colliculocale'), c.collisdeterministic \
             FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE {} AND {}",
            user_schema("n"),
            not_ext("pg_collation", "c.oid")
        ),
    ));
    q.push((
        "types",
        format!(
            "SELECT t.oid, n.nspname::text, t.typname::text, t.typtype::text, t.typarray, \
             CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e \
               WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END, \
             CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, \
             t.typnotnull, pg_get_expr(t.typdefaultbin, 0), \
             CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN {} END, \
             ARRAY(SELECT c.conname::text FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname), \
             ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname), \
             format_type(t.oid, NULL) \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             LEFT JOIN pg_type bt ON bt.oid = t.typbasetype \
             WHERE {} AND {} AND t.typtype IN ('e', 'd', 'r', 'b', 'm', 'p') \
             AND NOT EXISTS (SELECT 1 FROM pg_type el WHERE el.typarray = t.oid)",
            coll_sql("t.typcollation"),
            user_schema("n"),
            not_ext("pg_type", "t.oid")
        ),
    ));
    q.push((
        "relations",
        format!(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence::text, \
             c.relrowsecurity, c.relforcerowsecurity, \
             CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END, \
             CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, \
             coalesce(c.reloptions, '{{}}')::text[], c.reltype, \
             CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, \
             ARRAY(SELECT pn.nspname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent \
               JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid ORDER BY i.inhseqno), \
             ARRAY(SELECT p.relname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent \
               WHERE i.inhrelid = c.oid ORDER BY i.inhseqno), \
             c.relispartition \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c', 'f') AND {} AND {}",
            user_schema("n"),
            not_ext("pg_class", "c.oid")
        ),
    ));
    q.push((
        "columns",
        format!(
            "SELECT a.attrelid, a.attnum::int4, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
             CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END, \
             a.attidentity::text, \
             CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END, \
             CASE WHEN a.attcollation <> t.typcollation THEN {} END, \
             a.attislocal, a.attacl IS NOT NULL \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'c', 'f', 'v', 'm') AND {} \
             ORDER BY a.attrelid, a.attnum",
            coll_sql("a.attcollation"),
            user_schema("n")
        ),
    ));
    q.push((
        "sequences",
        "SELECT s.seqrelid, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, \
         s.seqmax, s.seqcache, s.seqcycle, d.deptype::text, d.refobjid, a.attname::text \
         FROM pg_sequence s \
         LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid \
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') \
         LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
            .to_owned(),
    ));
    q.push((
        "constraints",
        "SELECT con.oid, con.conrelid, con.conname::text, con.contype::text, \
         pg_get_constraintdef(con.oid), con.conindid \
         FROM pg_constraint con \
         WHERE con.conrelid <> 0 AND con.contype IN ('p', 'u', 'f', 'c', 'x') \
         AND con.conislocal AND con.conparentid = 0"
            .to_owned(),
    ));
    q.push((
        "indexes",
        "SELECT i.indexrelid, i.indrelid, n.nspname::text, ic.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = ic.relnamespace \
         WHERE NOT ic.relispartition AND i.indrelid >= 16384 \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid \
           AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))"
            .to_owned(),
    ));
    q.push((
        "functions",
        format!(
            "SELECT p.oid, n.nspname::text, p.proname::text, p.prokind::text, \
             pg_get_function_identity_arguments(p.oid), \
             CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END, \
             coalesce(pg_get_function_result(p.oid), ''), \
             CASE WHEN p.prokind = 'a' THEN concat_ws(', ', \
               'SFUNC = ' || a.aggtransfn::regproc::text, \
               'STYPE = ' || format_type(a.aggtranstype, NULL), \
               CASE WHEN a.aggfinalfn <> 0 THEN 'FINALFUNC = ' || a.aggfinalfn::regproc::text END, \
               CASE WHEN a.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || a.aggcombinefn::regproc::text END, \
               CASE WHEN a.agginitval IS NOT NULL THEN 'INITCOND = ' || quote_literal(a.agginitval) END) END, \
             coalesce(a.aggkind::text, '') \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid \
             WHERE {} AND {}",
            user_schema("n"),
            not_ext("pg_proc", "p.oid")
        ),
    ));
    q.push((
        "triggers",
        "SELECT t.oid, t.tgrelid, t.tgname::text, pg_get_triggerdef(t.oid), t.tgenabled::text \
         FROM pg_trigger t WHERE NOT t.tgisinternal \
         AND coalesce((to_jsonb(t)->>'tgparentid')::oid, 0) = 0"
            .to_owned(),
    ));
    q.push((
        "policies",
        "SELECT p.oid, p.polrelid, p.polname::text, p.polpermissive, p.polcmd::text, \
         ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END \
           FROM unnest(p.polroles) r ORDER BY 1), \
         pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) \
         FROM pg_policy p"
            .to_owned(),
    ));
    q.push((
        "privileges",
        "WITH o AS ( \
           SELECT 'pg_class'::text AS cls, c.oid, CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\" AS k, \
             c.relowner AS owner, c.relacl AS acl FROM pg_class c \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.oid >= 16384 \
           UNION ALL SELECT 'pg_namespace', n.oid, 'n', n.nspowner, n.nspacl FROM pg_namespace n \
           UNION ALL SELECT 'pg_proc', p.oid, 'f', p.proowner, p.proacl FROM pg_proc p WHERE p.oid >= 16384 \
         ), cur AS ( \
           SELECT o.cls, o.oid, o.owner, x.grantee, x.privilege_type, x.is_grantable \
           FROM o, aclexplode(coalesce(o.acl, acldefault(o.k, o.owner))) x \
         ), def AS ( \
           SELECT o.cls, o.oid, o.owner, x.grantee, x.privilege_type, x.is_grantable \
           FROM o, aclexplode(acldefault(o.k, o.owner)) x \
         ), d AS ( \
           (SELECT *, false AS revoked FROM cur EXCEPT SELECT *, false FROM def) \
           UNION ALL (SELECT *, true FROM def EXCEPT SELECT *, true FROM cur) \
         ) \
         SELECT d.cls, d.oid, CASE WHEN d.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(d.grantee)) END, \
           d.privilege_type, d.is_grantable, d.revoked \
         FROM d WHERE d.grantee <> d.owner"
            .to_owned(),
    ));
    q.push((
        "comments",
        "SELECT d.classoid::regclass::text, d.objoid, d.objsubid, d.description FROM pg_description d \
         WHERE d.objoid >= 16384 OR d.classoid = 'pg_namespace'::regclass"
            .to_owned(),
    ));
    q.push((
        "dependencies",
        "SELECT CASE WHEN d.classid IN ('pg_rewrite'::regclass, 'pg_attrdef'::regclass) THEN 'pg_class' \
           ELSE d.classid::regclass::text END, \
         CASE d.classid WHEN 'pg_rewrite'::regclass THEN (SELECT r.ev_class FROM pg_rewrite r WHERE r.oid = d.objid) \
           WHEN 'pg_attrdef'::regclass THEN (SELECT a.adrelid FROM pg_attrdef a WHERE a.oid = d.objid) \
           ELSE d.objid END, \
         d.refclassid::regclass::text, d.refobjid, d.deptype::text \
         FROM pg_depend d WHERE d.deptype IN ('n', 'a', 'e') AND d.objid >= 16384 AND d.refobjid >= 16384"
            .to_owned(),
    ));
    let ext = |c: &str, o: &str| not_ext(c, o);
    q.push((
        "other objects",
        format!(
            "SELECT 'rule ' || r.rulename || ' on ' || n.nspname || '.' || c.relname FROM pg_rewrite r \
               JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE r.rulename <> '_RETURN' AND {us} \
             UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger x WHERE {e1} \
             UNION ALL SELECT 'publication ' || pubname FROM pg_publication \
             UNION ALL SELECT 'foreign data wrapper ' || fdwname FROM pg_foreign_data_wrapper x WHERE {e2} \
             UNION ALL SELECT 'foreign server ' || srvname FROM pg_foreign_server x WHERE {e3} \
             UNION ALL SELECT 'text search configuration ' || cfgname FROM pg_ts_config x WHERE x.oid >= 16384 AND {e4} \
             UNION ALL SELECT 'text search dictionary ' || dictname FROM pg_ts_dict x WHERE x.oid >= 16384 AND {e5} \
             UNION ALL SELECT 'operator ' || oprname FROM pg_operator x WHERE x.oid >= 16384 AND {e6} \
             UNION ALL SELECT 'operator class ' || opcname FROM pg_opclass x WHERE x.oid >= 16384 AND {e7} \
             UNION ALL SELECT 'operator family ' || opfname FROM pg_opfamily x WHERE x.oid >= 16384 AND {e8} \
             UNION ALL SELECT 'cast ' || format_type(castsource, NULL) || ' as ' || format_type(casttarget, NULL) \
               FROM pg_cast x WHERE x.oid >= 16384 AND {e9} \
             UNION ALL SELECT 'statistics object ' || stxname FROM pg_statistic_ext x WHERE {e10} \
             UNION ALL SELECT 'conversion ' || conname FROM pg_conversion x WHERE x.oid >= 16384 AND {e11} \
             UNION ALL SELECT 'language ' || lanname FROM pg_language x WHERE x.oid >= 16384 AND {e12} \
             UNION ALL SELECT 'default privileges' FROM pg_default_acl",
            us = user_schema("n"),
            e1 = ext("pg_event_trigger", "x.oid"),
            e2 = ext("pg_foreign_data_wrapper", "x.oid"),
            e3 = ext("pg_foreign_server", "x.oid"),
            e4 = ext("pg_ts_config", "x.oid"),
            e5 = ext("pg_ts_dict", "x.oid"),
            e6 = ext("pg_operator", "x.oid"),
            e7 = ext("pg_opclass", "x.oid"),
            e8 = ext("pg_opfamily", "x.oid"),
            e9 = ext("pg_cast", "x.oid"),
            e10 = ext("pg_statistic_ext", "x.oid"),
            e11 = ext("pg_conversion", "x.oid"),
            e12 = ext("pg_language", "x.oid"),
        ),
    ));
    q
}

/// Reads `client`'s database into a `Catalog`, in one read-only snapshot of its own
/// (`BEGIN ... COMMIT`; `search_path` set to `public` inside it, so names in `public` print
/// unqualified whatever the role's setting).
pub async fn inspect(client: &Client, opts: &InspectOptions) -> Result<Catalog, InspectError> {
    let q = |what: &'static str| move |source| InspectError::Query { what, source };
    client
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = public",
        )
        .await
        .map_err(q("start"))?;
    let list = queries();
    let results =
        futures::future::join_all(list.iter().map(|(_, sql)| client.query(sql.as_str(), &[])))
            .await;
    let _ = client.batch_execute("COMMIT").await;
    let mut rows = HashMap::new();
    for ((what, _), r) in list.iter().zip(results) {
        rows.insert(*what, r.map_err(q(what))?);
    }
    assemble(&rows, opts)
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
    what: &'static str,
) -> Result<T, InspectError> {
    row.try_get(i)
        .map_err(|source| InspectError::Value { what, source })
}

type Oid = u32;

/// Where oids point: (catalog, oid) -> object key, and comment targets.
#[derive(Default)]
struct Names {
    keys: HashMap<(&'static str, Oid), String>,
    comment: HashMap<(&'static str, Oid), CommentOn>,
    rels: HashMap<Oid, QName>,
    ignored: HashSet<Oid>,
    columns: HashMap<(Oid, i32), String>,
}

fn assemble(
    rows: &HashMap<&'static str, Vec<Row>>,
    opts: &InspectOptions,
) -> Result<Catalog, InspectError> {
    let mut c = Catalog::default();
    let mut n = Names::default();
    let empty = Vec::new();
    let r = |w: &str| rows.get(w).unwrap_or(&empty);

    for row in r("schemas") {
        let oid: Oid = get(row, 0, "schemas")?;
        let name: String = get(row, 1, "schemas")?;
        n.keys.insert(("pg_namespace", oid), keys::schema(&name));
        n.comment.insert(
            ("pg_namespace", oid),
            CommentOn {
                key: keys::schema(&name),
                sql: format!("SCHEMA {}", ident(&name)),
            },
        );
        c.schemas.insert(name);
    }
    for row in r("extensions") {
        let w = "extensions";
        let oid: Oid = get(row, 0, w)?;
        let name: String = get(row, 1, w)?;
        n.keys.insert(("pg_extension", oid), keys::extension(&name));
        n.comment.insert(
            ("pg_extension", oid),
            CommentOn {
                key: keys::extension(&name),
                sql: format!("EXTENSION {}", ident(&name)),
            },
        );
        c.extensions.insert(
            name.clone(),
            Extension {
                name,
                schema: get(row, 2, w)?,
                version: get(row, 3, w)?,
            },
        );
    }
    for row in r("collations") {
        let w = "collations";
        let oid: Oid = get(row, 0, w)?;
        let q = QName::new(get::<String>(row, 1, w)?, get::<String>(row, 2, w)?);
        let provider = match get::<String>(row, 3, w)?.as_str() {
            "i" => "icu",
            "c" => "libc",
            "b" => "builtin",
            _ => "default",
        }
        .to_owned();
        n.keys.insert(("pg_collation", oid), keys::collation(&q));
        n.comment.insert(
            ("pg_collation", oid),
            CommentOn {
                key: keys::collation(&q),
                sql: format!("COLLATION {}", qname(&q)),
            },
        );
        c.collations.insert(
            q.clone(),
            Collation {
                name: q,
                provider,
                lc_collate: get(row, 4, w)?,
                lc_ctype: get(row, 5, w)?,
                locale: get(row, 6, w)?,
                deterministic: get(row, 7, w)?,
            },
        );
    }
    for row in r("types") {
        let w = "types";
        let oid: Oid = get(row, 0, w)?;
        let q = QName::new(get::<String>(row, 1, w)?, get::<String>(row, 2, w)?);
        let typtype: String = get(row, 3, w)?;
        let array: Oid = get(row, 4, w)?;
        let key = keys::type_(&q);
        n.keys.insert(("pg_type", oid), key.clone());
        if array != 0 {
            n.keys.insert(("pg_type", array), key.clone());
        }
        match typtype.as_str() {
            "e" => {
                n.comment.insert(
                    ("pg_type", oid),
                    CommentOn {
                        key,
                        sql: format!("TYPE {}", qname(&q)),
                    },
                );
                let values: Option<Vec<String>> = get(row, 5, w)?;
                c.enums.insert(
                    q.clone(),
                    Enum {
                        name: q,
                        values: values.unwrap_or_default(),
                    },
                );
            }
            "d" => {
                n.comment.insert(
                    ("pg_type", oid),
                    CommentOn {
                        key,
                        sql: format!("DOMAIN {}", qname(&q)),
                    },
                );
                let names: Vec<String> = get(row, 10, w)?;
                let defs: Vec<String> = get(row, 11, w)?;
                c.domains.insert(
                    q.clone(),
                    Domain {
                        name: q,
                        base_type: get::<Option<String>>(row, 6, w)?.unwrap_or_default(),
                        not_null: get(row, 7, w)?,
                        default: get(row, 8, w)?,
                        collation: get(row, 9, w)?,
                        checks: names.into_iter().zip(defs).collect(),
                    },
                );
            }
            "r" | "m" => {
                c.not_compared.insert(format!("range type {q}"));
            }
            _ => {
                c.not_compared.insert(format!("type {q}"));
            }
        }
    }

    let ignored = |q: &QName| {
        opts.ignore_tables
            .iter()
            .any(|(s, t)| *t == q.name && s.as_ref().is_none_or(|s| *s == q.schema))
    };
    struct Rel {
        oid: Oid,
        q: QName,
        kind: String,
    }
    let mut rels: Vec<Rel> = Vec::new();
    for row in r("relations") {
        let w = "relations";
        let oid: Oid = get(row, 0, w)?;
        let q = QName::new(get::<String>(row, 1, w)?, get::<String>(row, 2, w)?);
        let kind: String = get(row, 3, w)?;
        let reltype: Oid = get(row, 10, w)?;
        if ignored(&q) && matches!(kind.as_str(), "r" | "p") {
            n.ignored.insert(oid);
            continue;
        }
        let key = if kind == "c" {
            keys::type_(&q)
        } else {
            keys::relation(&q)
        };
        n.keys.insert(("pg_class", oid), key.clone());
        if reltype != 0 {
            n.keys.insert(("pg_type", reltype), key.clone());
        }
        n.rels.insert(oid, q.clone());
        let what = match kind.as_str() {
            "r" | "p" => "TABLE",
            "v" => "VIEW",
            "m" => "MATERIALIZED VIEW",
            "S" => "SEQUENCE",
            "c" => "TYPE",
            _ => "FOREIGN TABLE",
        };
        n.comment.insert(
            ("pg_class", oid),
            CommentOn {
                key: key.clone(),
                sql: format!("{what} {}", qname(&q)),
            },
        );
        match kind.as_str() {
            "r" | "p" => {
                let mut t = Table::new(q.clone());
                t.unlogged = get::<String>(row, 4, w)? == "u";
                t.rls = get(row, 5, w)?;
                t.force_rls = get(row, 6, w)?;
                let partition: bool = get(row, 14, w)?;
                let schemas: Vec<String> = get(row, 12, w)?;
                let names: Vec<String> = get(row, 13, w)?;
                let parents: Vec<QName> = schemas
                    .into_iter()
                    .zip(names)
                    .map(|(s, n)| QName::new(s, n))
                    .collect();
                if partition {
                    let bound: Option<String> = get(row, 7, w)?;
                    if let (Some(p), Some(b)) = (parents.first(), bound) {
                        t.partition_of = Some((p.clone(), b));
                    }
                } else {
                    t.inherits = parents;
                }
                t.partition_by = get(row, 8, w)?;
                let mut options: Vec<String> = get(row, 9, w)?;
                options.sort();
                t.options = options;
                c.tables.insert(q.clone(), t);
            }
            "v" | "m" => {
                let query: Option<String> = get(row, 11, w)?;
                let mut options: Vec<String> = get(row, 9, w)?;
                options.sort();
                let query = query.unwrap_or_default();
                c.views.insert(
                    q.clone(),
                    View {
                        name: q.clone(),
                        materialized: kind == "m",
                        query: query.trim_end().trim_end_matches(';').to_owned(),
                        options,
                    },
                );
            }
            "c" => {
                c.composites.insert(
                    q.clone(),
                    Composite {
                        name: q.clone(),
                        attributes: Vec::new(),
                    },
                );
            }
            "f" => {
                c.not_compared.insert(format!("foreign table {q}"));
            }
            _ => {}
        }
        rels.push(Rel { oid, q, kind });
    }
    let kinds: HashMap<Oid, &Rel> = rels.iter().map(|r| (r.oid, r)).collect();

    for row in r("columns") {
        let w = "columns";
        let relid: Oid = get(row, 0, w)?;
        let Some(rel) = kinds.get(&relid) else {
            continue;
        };
        let num: i32 = get(row, 1, w)?;
        let name: String = get(row, 2, w)?;
        n.columns.insert((relid, num), name.clone());
        if get::<bool>(row, 10, w)? {
            c.not_compared
                .insert(format!("column privileges on {}.{name}", rel.q));
        }
        let local: bool = get(row, 9, w)?;
        let identity: String = get(row, 6, w)?;
        let col = Column {
            name,
            type_sql: get(row, 3, w)?,
            not_null: get(row, 4, w)?,
            default: get(row, 5, w)?,
            identity: identity.chars().next(),
            generated: get(row, 7, w)?,
            collation: get(row, 8, w)?,
        };
        match rel.kind.as_str() {
            "r" | "p" if local => {
                if let Some(t) = c.tables.get_mut(&rel.q) {
                    t.columns.push(col);
                }
            }
            "c" => {
                if let Some(t) = c.composites.get_mut(&rel.q) {
                    t.attributes.push(col);
                }
            }
            _ => {}
        }
    }

    for row in r("sequences") {
        let w = "sequences";
        let oid: Oid = get(row, 0, w)?;
        let Some(rel) = kinds.get(&oid) else { continue };
        let deptype: Option<String> = get(row, 8, w)?;
        if deptype.as_deref() == Some("i") {
            // An identity column's sequence is part of the column.
            n.keys.remove(&("pg_class", oid));
            continue;
        }
        let owner: Option<Oid> = get(row, 9, w)?;
        let col: Option<String> = get(row, 10, w)?;
        let owned_by = match (owner.and_then(|o| n.rels.get(&o)), col) {
            (Some(t), Some(col)) => Some((t.clone(), col)),
            _ => None,
        };
        if owner.is_some_and(|o| n.ignored.contains(&o)) {
            n.keys.remove(&("pg_class", oid));
            continue;
        }
        c.sequences.insert(
            rel.q.clone(),
            Sequence {
                name: rel.q.clone(),
                data_type: get(row, 1, w)?,
                start: get(row, 2, w)?,
                increment: get(row, 3, w)?,
                min: get(row, 4, w)?,
                max: get(row, 5, w)?,
                cache: get(row, 6, w)?,
                cycle: get(row, 7, w)?,
                owned_by,
            },
        );
    }

    for row in r("constraints") {
        let w = "constraints";
        let oid: Oid = get(row, 0, w)?;
        let relid: Oid = get(row, 1, w)?;
        let Some(t) = n.rels.get(&relid).cloned() else {
            continue;
        };
        let name: String = get(row, 2, w)?;
        let kind: String = get(row, 3, w)?;
        let index: Oid = get(row, 5, w)?;
        let id = ChildId { table: t, name };
        let key = keys::constraint(&id);
        n.keys.insert(("pg_constraint", oid), key.clone());
        if index != 0 && kind != "f" {
            n.keys.insert(("pg_class", index), key.clone());
        }
        n.comment.insert(
            ("pg_constraint", oid),
            CommentOn {
                key,
                sql: format!("CONSTRAINT {} ON {}", ident(&id.name), qname(&id.table)),
            },
        );
        c.constraints.insert(
            id.clone(),
            Constraint {
                id,
                kind: kind.chars().next().unwrap_or('c'),
                definition: get(row, 4, w)?,
            },
        );
    }
    for row in r("indexes") {
        let w = "indexes";
        let oid: Oid = get(row, 0, w)?;
        let relid: Oid = get(row, 1, w)?;
        let Some(t) = n.rels.get(&relid).cloned() else {
            continue;
        };
        let q = QName::new(get::<String>(row, 2, w)?, get::<String>(row, 3, w)?);
        n.keys.insert(("pg_class", oid), keys::index(&q));
        n.comment.insert(
            ("pg_class", oid),
            CommentOn {
                key: keys::index(&q),
                sql: format!("INDEX {}", qname(&q)),
            },
        );
        c.indexes.insert(
            q.clone(),
            Index {
                name: q,
                table: t,
                definition: get(row, 4, w)?,
            },
        );
    }
    for row in r("functions") {
        let w = "functions";
        let oid: Oid = get(row, 0, w)?;
        let id = FuncId {
            schema: get(row, 1, w)?,
            name: get(row, 2, w)?,
            args: get(row, 4, w)?,
        };
        let kind = match get::<String>(row, 3, w)?.as_str() {
            "a" => FuncKind::Aggregate,
            "p" => FuncKind::Procedure,
            _ => FuncKind::Function,
        };
        let def: Option<String> = get(row, 5, w)?;
        let agg: Option<String> = get(row, 7, w)?;
        let aggkind: String = get(row, 8, w)?;
        if kind == FuncKind::Aggregate && aggkind != "n" {
            c.not_compared.insert(format!("ordered-set aggregate {id}"));
            continue;
        }
        let definition = match kind {
            FuncKind::Aggregate => format!(
                "CREATE AGGREGATE {} ({})",
                super::render::func_sig(&id),
                agg.unwrap_or_default()
            ),
            _ => def.unwrap_or_default().trim_end().to_owned(),
        };
        let key = keys::function(&id);
        n.keys.insert(("pg_proc", oid), key.clone());
        n.comment.insert(
            ("pg_proc", oid),
            CommentOn {
                key,
                sql: format!("{} {}", kind.sql(), super::render::func_sig(&id)),
            },
        );
        c.functions.insert(
            id.clone(),
            Function {
                id,
                kind,
                definition,
                returns: get(row, 6, w)?,
            },
        );
    }
    for row in r("triggers") {
        let w = "triggers";
        let oid: Oid = get(row, 0, w)?;
        let relid: Oid = get(row, 1, w)?;
        let Some(t) = n.rels.get(&relid).cloned() else {
            continue;
        };
        let id = ChildId {
            table: t,
            name: get(row, 2, w)?,
        };
        if get::<String>(row, 4, w)? != "O" {
            c.not_compared
                .insert(format!("enabled state of trigger {id}"));
        }
        let key = keys::trigger(&id);
        n.keys.insert(("pg_trigger", oid), key.clone());
        n.comment.insert(
            ("pg_trigger", oid),
            CommentOn {
                key,
                sql: format!("TRIGGER {} ON {}", ident(&id.name), qname(&id.table)),
            },
        );
        c.triggers.insert(
            id.clone(),
            Trigger {
                id,
                definition: get(row, 3, w)?,
            },
        );
    }
    for row in r("policies") {
        let w = "policies";
        let oid: Oid = get(row, 0, w)?;
        let relid: Oid = get(row, 1, w)?;
        let Some(t) = n.rels.get(&relid).cloned() else {
            continue;
        };
        let id = ChildId {
            table: t,
            name: get(row, 2, w)?,
        };
        let command = match get::<String>(row, 4, w)?.as_str() {
            "r" => "SELECT",
            "a" => "INSERT",
            "w" => "UPDATE",
            "d" => "DELETE",
            _ => "ALL",
        };
        let key = keys::policy(&id);
        n.keys.insert(("pg_policy", oid), key.clone());
        n.comment.insert(
            ("pg_policy", oid),
            CommentOn {
                key,
                sql: format!("POLICY {} ON {}", ident(&id.name), qname(&id.table)),
            },
        );
        c.policies.insert(
            id.clone(),
            Policy {
                id,
                permissive: get(row, 3, w)?,
                command: command.into(),
                roles: get(row, 5, w)?,
                using: get(row, 6, w)?,
                with_check: get(row, 7, w)?,
            },
        );
    }

    // Privileges on the objects the model knows.
    for row in r("privileges") {
        let w = "privileges";
        let cls: String = get(row, 0, w)?;
        let oid: Oid = get(row, 1, w)?;
        let target = match cls.as_str() {
            "pg_class" => kinds.get(&oid).and_then(|rel| {
                let key = n.keys.get(&("pg_class", oid))?;
                let what = if rel.kind == "S" { "SEQUENCE" } else { "TABLE" };
                Some(PrivTarget {
                    key: key.clone(),
                    sql: format!("{what} {}", qname(&rel.q)),
                })
            }),
            "pg_namespace" => n.keys.get(&("pg_namespace", oid)).map(|k| PrivTarget {
                key: k.clone(),
                sql: format!("SCHEMA {}", ident(k.trim_start_matches("schema:"))),
            }),
            _ => n.comment.get(&("pg_proc", oid)).map(|on| PrivTarget {
                key: on.key.clone(),
                sql: on.sql.replacen("AGGREGATE ", "FUNCTION ", 1),
            }),
        };
        let Some(on) = target else { continue };
        c.privileges.insert(Privilege {
            on,
            grantee: get(row, 2, w)?,
            privilege: get(row, 3, w)?,
            grantable: get(row, 4, w)?,
            revoked: get(row, 5, w)?,
        });
    }

    for row in r("comments") {
        let w = "comments";
        let cls: String = get(row, 0, w)?;
        let oid: Oid = get(row, 1, w)?;
        let sub: i32 = get(row, 2, w)?;
        let text: String = get(row, 3, w)?;
        let Some(cls) = catalog_name(&cls) else {
            continue;
        };
        let on = if cls == "pg_class" && sub > 0 {
            match (n.rels.get(&oid), n.columns.get(&(oid, sub))) {
                (Some(t), Some(col)) => Some(CommentOn {
                    key: super::diff::column_key(t, col),
                    sql: format!("COLUMN {}.{}", qname(t), ident(col)),
                }),
                _ => None,
            }
        } else {
            n.comment.get(&(cls, oid)).cloned()
        };
        if let Some(on) = on {
            c.comments.insert(on, text);
        }
    }

    // Dependencies between the objects the model knows; members of an extension stand for it.
    let mut ext_members: HashMap<(&'static str, Oid), String> = HashMap::new();
    let deps = r("dependencies");
    for row in deps {
        let w = "dependencies";
        if get::<String>(row, 4, w)? != "e" {
            continue;
        }
        let (Some(cls), Some(rcls)) = (
            catalog_name(&get::<String>(row, 0, w)?),
            catalog_name(&get::<String>(row, 2, w)?),
        ) else {
            continue;
        };
        let (oid, roid): (Oid, Oid) = (get(row, 1, w)?, get(row, 3, w)?);
        if let Some(k) = n.keys.get(&(rcls, roid)) {
            ext_members.insert((cls, oid), k.clone());
        }
    }
    let owner_of = |cls: &'static str, oid: Oid| -> Option<String> {
        n.keys
            .get(&(cls, oid))
            .or_else(|| ext_members.get(&(cls, oid)))
            .cloned()
    };
    for row in deps {
        let w = "dependencies";
        if get::<String>(row, 4, w)? == "e" {
            continue;
        }
        let Some(cls) = catalog_name(&get::<String>(row, 0, w)?) else {
            continue;
        };
        let Some(rcls) = catalog_name(&get::<String>(row, 2, w)?) else {
            continue;
        };
        let (oid, roid): (Oid, Oid) = (get(row, 1, w)?, get(row, 3, w)?);
        let from = owner_of(cls, oid);
        let (Some(from), Some(to)) = (from, owner_of(rcls, roid)) else {
            continue;
        };
        if from == to || is_owned_sequence(&c, &from) && cls == "pg_class" && rcls == "pg_class" {
            continue;
        }
        c.deps.entry(from).or_default().insert(to);
    }

    for row in r("other objects") {
        let what: String = get(row, 0, "other objects")?;
        c.not_compared.insert(what);
    }
    Ok(c)
}

fn is_owned_sequence(c: &Catalog, key: &str) -> bool {
    c.sequences.keys().any(|q| keys::relation(q) == key)
}

/// The catalog names the model maps (as `regclass::text` prints them).
fn catalog_name(s: &str) -> Option<&'static str> {
    Some(match s {
        "pg_namespace" => "pg_namespace",
        "pg_extension" => "pg_extension",
        "pg_collation" => "pg_collation",
        "pg_type" => "pg_type",
        "pg_class" => "pg_class",
        "pg_proc" => "pg_proc",
        "pg_constraint" => "pg_constraint",
        "pg_trigger" => "pg_trigger",
        "pg_policy" => "pg_policy",
        "pg_rewrite" => "pg_rewrite",
        "pg_attrdef" => "pg_attrdef",
        _ => return None,
    })
}
