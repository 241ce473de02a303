//! Catalog x catalog -> changes, each with the statements that make it and a plain-words
//! description of the difference. Pure; the statements are ordered later by `order`.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{keys, Catalog, ChildId, Column, FuncKind, QName, Table};
use super::order::{phase, Step};
use super::render::{self, alter_table, ident, literal, qname};
use super::{Hazard, RenderOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Drop,
    Alter,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Drop => "drop",
            Action::Alter => "alter",
        }
    }
}

/// One difference between the two catalogs and the statements that remove it.
#[derive(Debug, Clone)]
pub struct Change {
    /// Object kind in words: `table`, `index`, `function`...
    pub kind: String,
    /// The object, schema-qualified (`public.users`, `ix on public.users`).
    pub name: String,
    pub action: Action,
    /// What differs, as `residual` reports it (`missing`, `column email: type integer, expected bigint`).
    pub detail: String,
    pub hazard: Option<Hazard>,
    pub steps: Vec<Step>,
}

struct Differ<'a> {
    a: &'a Catalog,
    b: &'a Catalog,
    opts: &'a RenderOptions,
    out: Vec<Change>,
    /// Keys of objects that exist in `a` but not in `b`.
    dropped: BTreeSet<String>,
    /// Keys of objects in both that are dropped and created again.
    recreated: BTreeSet<String>,
    /// Keys of tables whose columns change type (views on them must be recreated).
    retyped: BTreeSet<String>,
}

/// The changes that turn `a` into `b`.
pub fn diff(a: &Catalog, b: &Catalog, opts: &RenderOptions) -> Vec<Change> {
    let ka = object_keys(a);
    let kb = object_keys(b);
    let mut d = Differ {
        a,
        b,
        opts,
        out: Vec::new(),
        dropped: ka.difference(&kb).cloned().collect(),
        recreated: BTreeSet::new(),
        retyped: BTreeSet::new(),
    };
    d.plan_recreations();
    d.schemas();
    d.extensions();
    d.collations();
    d.enums();
    d.domains();
    d.composites();
    d.sequences();
    d.tables();
    d.functions();
    d.views();
    d.constraints();
    d.indexes();
    d.triggers();
    d.policies();
    d.privileges();
    d.comments();
    d.out
}

/// Every object key of a catalog (columns as `column:schema.table.name`).
pub fn object_keys(c: &Catalog) -> BTreeSet<String> {
    let mut k = BTreeSet::new();
    k.extend(c.schemas.iter().map(|s| keys::schema(s)));
    k.extend(c.extensions.keys().map(|e| keys::extension(e)));
    k.extend(c.collations.keys().map(keys::collation));
    k.extend(c.enums.keys().map(keys::type_));
    k.extend(c.domains.keys().map(keys::type_));
    k.extend(c.composites.keys().map(keys::type_));
    k.extend(c.sequences.keys().map(keys::relation));
    for (q, t) in &c.tables {
        k.insert(keys::relation(q));
        k.extend(t.columns.iter().map(|col| column_key(q, &col.name)));
    }
    k.extend(c.functions.keys().map(keys::function));
    k.extend(c.views.keys().map(keys::relation));
    k.extend(c.constraints.keys().map(keys::constraint));
    k.extend(c.indexes.keys().map(keys::index));
    k.extend(c.triggers.keys().map(keys::trigger));
    k.extend(c.policies.keys().map(keys::policy));
    k
}

pub fn column_key(t: &QName, c: &str) -> String {
    format!("column:{t}.{c}")
}

fn hazard(kind: &str, object: &str, message: String) -> Option<Hazard> {
    Some(Hazard {
        kind: kind.into(),
        object: object.into(),
        message,
    })
}

/// Whether PostgreSQL converts `from` to `to` in `ALTER COLUMN TYPE` without a `USING`
/// (an implicit or assignment cast exists).
pub fn assignment_cast(from: &str, to: &str) -> bool {
    let base = |t: &str| -> String {
        let t = t.split('(').next().unwrap_or(t).trim();
        t.to_owned()
    };
    let (f, t) = (base(from), base(to));
    if from.ends_with("[]") != to.ends_with("[]") {
        return false;
    }
    if f == t {
        return true;
    }
    const TEXT: &[&str] = &["text", "character varying", "character", "name", "\"char\""];
    const NUM: &[&str] = &[
        "smallint",
        "integer",
        "bigint",
        "numeric",
        "real",
        "double precision",
    ];
    const TIME: &[&str] = &[
        "date",
        "timestamp without time zone",
        "timestamp with time zone",
    ];
    if TEXT.contains(&t.as_str()) && !from.ends_with("[]") {
        return true;
    }
    (NUM.contains(&f.as_str()) && NUM.contains(&t.as_str()))
        || (TIME.contains(&f.as_str())
            && TIME.contains(&t.as_str())
            && f != "timestamp with time zone")
        || (f == "time without time zone" && t == "time with time zone")
}

/// Whether changing a column's type from `from` to `to` leaves the table unrewritten.
pub fn binary_compatible(from: &str, to: &str) -> bool {
    let split = |t: &str| -> (String, Option<Vec<i64>>) {
        match t.split_once('(') {
            Some((b, rest)) => {
                let n = rest
                    .trim_end_matches(')')
                    .split(',')
                    .filter_map(|x| x.trim().parse().ok())
                    .collect();
                (b.trim().to_owned(), Some(n))
            }
            None => (t.trim().to_owned(), None),
        }
    };
    let (fb, fm) = split(from);
    let (tb, tm) = split(to);
    let text_like = |b: &str| b == "character varying" || b == "text";
    if fb == tb {
        return match (fm, tm) {
            (_, None) => fb != "character" && fb != "bit",
            (Some(f), Some(t)) if fb == "character varying" => t >= f,
            (Some(f), Some(t)) if fb == "numeric" => {
                f.len() == 2 && t.len() == 2 && f[1] == t[1] && t[0] >= f[0]
            }
            _ => false,
        };
    }
    text_like(&fb) && tb == "text" || (fb == "text" && tb == "character varying" && tm.is_none())
}

impl<'a> Differ<'a> {
    fn push(
        &mut self,
        kind: &str,
        name: String,
        action: Action,
        detail: String,
        hazard: Option<Hazard>,
        steps: Vec<Step>,
    ) {
        self.out.push(Change {
            kind: kind.into(),
            name,
            action,
            detail,
            hazard,
            steps,
        });
    }

    fn gone(&self, key: &str) -> bool {
        self.dropped.contains(key)
    }

    /// Objects kept in both catalogs that must be dropped and created again: changed views,
    /// functions whose result type changes, tables that become (or stop being) partitions,
    /// and everything that depends on those.
    fn plan_recreations(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, ta) in &a.tables {
            if let Some(tb) = b.tables.get(q) {
                if table_recreated(ta, tb) {
                    self.recreated.insert(keys::relation(q));
                }
                let retyped = ta.columns.iter().any(|ca| {
                    tb.column(&ca.name).is_some_and(|cb| {
                        ca.type_sql != cb.type_sql || ca.collation != cb.collation
                    })
                });
                if retyped {
                    self.retyped.insert(keys::relation(q));
                }
            }
        }
        for (q, ea) in &a.enums {
            if let Some(eb) = b.enums.get(q) {
                if !is_subsequence(&ea.values, &eb.values) {
                    for t in enum_columns(a, q).into_iter().map(|(t, _)| t) {
                        self.retyped.insert(keys::relation(&t));
                    }
                }
            }
        }
        for (q, va) in &a.views {
            if b.views.get(q).is_some_and(|vb| vb != va) {
                self.recreated.insert(keys::relation(q));
            }
        }
        for (f, fa) in &a.functions {
            if let Some(fb) = b.functions.get(f) {
                if fa != fb
                    && (fa.returns != fb.returns
                        || fa.kind != fb.kind
                        || fa.kind == FuncKind::Aggregate)
                {
                    self.recreated.insert(keys::function(f));
                }
            }
        }
        // Dependants, to a fixed point: anything kept whose old definition depends on a
        // recreated object; views also on a table whose column types change.
        let kept: BTreeSet<String> = object_keys(a)
            .intersection(&object_keys(b))
            .filter(|k| !k.starts_with("column:") && !k.starts_with("rel:") || self.is_view(k))
            .filter(|k| {
                !k.starts_with("schema:")
                    && !k.starts_with("extension:")
                    && !k.starts_with("type:")
                    && !k.starts_with("collation:")
            })
            .cloned()
            .collect();
        loop {
            let mut grew = false;
            for k in &kept {
                if self.recreated.contains(k) {
                    continue;
                }
                let Some(deps) = a.deps.get(k) else { continue };
                let hit = deps.iter().any(|d| {
                    self.recreated.contains(d) || (self.is_view(k) && self.retyped.contains(d))
                });
                if hit {
                    self.recreated.insert(k.clone());
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
    }

    fn is_view(&self, key: &str) -> bool {
        self.a
            .views
            .keys()
            .chain(self.b.views.keys())
            .any(|q| keys::relation(q) == key)
    }

    fn schemas(&mut self) {
        let (a, b) = (self.a, self.b);
        for s in b.schemas.difference(&a.schemas) {
            let step = Step::new(
                phase::SCHEMA,
                keys::schema(s),
                vec![format!("CREATE SCHEMA {}", ident(s))],
            );
            self.push(
                "schema",
                s.clone(),
                Action::Create,
                "missing".into(),
                None,
                vec![step],
            );
        }
        for s in a.schemas.difference(&b.schemas) {
            let step = Step::drop(
                phase::SCHEMA,
                keys::schema(s),
                vec![format!("DROP SCHEMA {}", ident(s))],
            );
            self.push(
                "schema",
                s.clone(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![step],
            );
        }
    }

    fn extensions(&mut self) {
        let (a, b) = (self.a, self.b);
        for (n, eb) in &b.extensions {
            let key = keys::extension(n);
            match a.extensions.get(n) {
                None => {
                    let schema = if eb.schema == "public" {
                        String::new()
                    } else {
                        format!(" WITH SCHEMA {}", ident(&eb.schema))
                    };
                    let step = Step::new(
                        phase::EXTENSION,
                        key,
                        vec![format!(
                            "CREATE EXTENSION IF NOT EXISTS {}{schema}",
                            ident(n)
                        )],
                    )
                    .after(keys::schema(&eb.schema));
                    self.push(
                        "extension",
                        n.clone(),
                        Action::Create,
                        "missing".into(),
                        None,
                        vec![step],
                    );
                }
                Some(ea) if ea != eb => {
                    let mut sql = Vec::new();
                    let mut detail = Vec::new();
                    if ea.schema != eb.schema {
                        sql.push(format!(
                            "ALTER EXTENSION {} SET SCHEMA {}",
                            ident(n),
                            ident(&eb.schema)
                        ));
                        detail.push(format!("schema {}, expected {}", ea.schema, eb.schema));
                    }
                    if ea.version != eb.version {
                        sql.push(format!(
                            "ALTER EXTENSION {} UPDATE TO {}",
                            ident(n),
                            literal(&eb.version)
                        ));
                        detail.push(format!("version {}, expected {}", ea.version, eb.version));
                    }
                    let step = Step::new(phase::EXTENSION, key, sql);
                    self.push(
                        "extension",
                        n.clone(),
                        Action::Alter,
                        detail.join("; "),
                        None,
                        vec![step],
                    );
                }
                Some(_) => {}
            }
        }
        for n in a
            .extensions
            .keys()
            .filter(|n| !b.extensions.contains_key(*n))
        {
            let step = Step::drop(
                phase::EXTENSION,
                keys::extension(n),
                vec![format!("DROP EXTENSION {}", ident(n))],
            );
            self.push(
                "extension",
                n.clone(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![step],
            );
        }
    }

    fn collations(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, cb) in &b.collations {
            let key = keys::collation(q);
            let create = Step::new(
                phase::COLLATION,
                key.clone(),
                vec![render::create_collation(cb)],
            );
            match a.collations.get(q) {
                None => self.push(
                    "collation",
                    q.to_string(),
                    Action::Create,
                    "missing".into(),
                    None,
                    vec![create],
                ),
                Some(ca) if ca != cb => {
                    let drop = Step::drop(
                        phase::COLLATION,
                        key,
                        vec![format!("DROP COLLATION {}", qname(q))],
                    );
                    self.push(
                        "collation",
                        q.to_string(),
                        Action::Alter,
                        "definition differs".into(),
                        None,
                        vec![drop, create],
                    );
                }
                Some(_) => {}
            }
        }
        for q in a
            .collations
            .keys()
            .filter(|q| !b.collations.contains_key(*q))
        {
            let drop = Step::drop(
                phase::COLLATION,
                keys::collation(q),
                vec![format!("DROP COLLATION {}", qname(q))],
            );
            self.push(
                "collation",
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![drop],
            );
        }
    }

    fn enums(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, eb) in &b.enums {
            let key = keys::type_(q);
            match a.enums.get(q) {
                None => {
                    let step = Step::new(phase::TYPE, key, vec![render::create_enum(eb)]);
                    self.push(
                        "type",
                        q.to_string(),
                        Action::Create,
                        "missing".into(),
                        None,
                        vec![step],
                    );
                }
                Some(ea) if ea.values == eb.values => {}
                Some(ea) if is_subsequence(&ea.values, &eb.values) => {
                    let mut sql = Vec::new();
                    for (i, v) in eb.values.iter().enumerate() {
                        if ea.values.contains(v) {
                            continue;
                        }
                        let place = match eb.values[i + 1..].iter().find(|n| ea.values.contains(n))
                        {
                            Some(next) => format!(" BEFORE {}", literal(next)),
                            None => String::new(),
                        };
                        sql.push(format!(
                            "ALTER TYPE {} ADD VALUE {}{place}",
                            qname(q),
                            literal(v)
                        ));
                    }
                    let detail = format!(
                        "values ({}), expected ({})",
                        ea.values.join(", "),
                        eb.values.join(", ")
                    );
                    let step = Step::new(phase::TYPE, key, sql);
                    self.push(
                        "type",
                        q.to_string(),
                        Action::Alter,
                        detail,
                        None,
                        vec![step],
                    );
                }
                Some(ea) => {
                    // Values removed or reordered: a new type, every column converted through text.
                    let old = QName::new(&q.schema, format!("{}__dapp_old", q.name));
                    let mut sql = vec![
                        format!("ALTER TYPE {} RENAME TO {}", qname(q), ident(&old.name)),
                        render::create_enum(eb),
                    ];
                    let ty = qname(q);
                    for (t, col) in enum_columns(a, q) {
                        let array = if col.type_sql.ends_with("[]") {
                            "[]"
                        } else {
                            ""
                        };
                        let at = alter_table(&t);
                        let c = ident(&col.name);
                        if col.default.is_some() {
                            sql.push(format!("{at} ALTER COLUMN {c} DROP DEFAULT"));
                        }
                        sql.push(format!(
                            "{at} ALTER COLUMN {c} TYPE {ty}{array} USING {c}::text{array}::{ty}{array}"
                        ));
                        let still = b.tables.get(&t).and_then(|tb| tb.column(&col.name));
                        if let Some(d) = still.and_then(|cb| cb.default.as_ref()) {
                            sql.push(format!("{at} ALTER COLUMN {c} SET DEFAULT {d}"));
                        }
                    }
                    sql.push(format!("DROP TYPE {}", qname(&old)));
                    let detail = format!(
                        "values ({}), expected ({})",
                        ea.values.join(", "),
                        eb.values.join(", ")
                    );
                    let h = hazard(
                        "rewrite",
                        &q.to_string(),
                        format!("Values of enum {q} are removed or reordered: the type is recreated and every column using it is rewritten; rows holding a removed value make it fail."),
                    );
                    let step = Step::new(phase::TYPE, key, sql);
                    self.push("type", q.to_string(), Action::Alter, detail, h, vec![step]);
                }
            }
        }
        for q in a.enums.keys().filter(|q| !b.enums.contains_key(*q)) {
            let step = Step::drop(
                phase::TYPE,
                keys::type_(q),
                vec![format!("DROP TYPE {}", qname(q))],
            );
            self.push(
                "type",
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![step],
            );
        }
    }

    fn domains(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, db) in &b.domains {
            let key = keys::type_(q);
            let create = Step::new(phase::TYPE, key.clone(), vec![render::create_domain(db)]);
            match a.domains.get(q) {
                None => self.push(
                    "domain",
                    q.to_string(),
                    Action::Create,
                    "missing".into(),
                    None,
                    vec![create],
                ),
                Some(da) if da == db => {}
                Some(da) if da.base_type != db.base_type || da.collation != db.collation => {
                    let drop =
                        Step::drop(phase::TYPE, key, vec![format!("DROP DOMAIN {}", qname(q))]);
                    let detail = format!("type {}, expected {}", da.base_type, db.base_type);
                    self.push(
                        "domain",
                        q.to_string(),
                        Action::Alter,
                        detail,
                        None,
                        vec![drop, create],
                    );
                }
                Some(da) => {
                    let ad = format!("ALTER DOMAIN {}", qname(q));
                    let mut sql = Vec::new();
                    let mut detail = Vec::new();
                    if da.default != db.default {
                        sql.push(match &db.default {
                            Some(d) => format!("{ad} SET DEFAULT {d}"),
                            None => format!("{ad} DROP DEFAULT"),
                        });
                        detail.push("default differs".to_string());
                    }
                    if da.not_null != db.not_null {
                        sql.push(format!(
                            "{ad} {} NOT NULL",
                            if db.not_null { "SET" } else { "DROP" }
                        ));
                        detail.push("NOT NULL differs".to_string());
                    }
                    for (n, c) in &da.checks {
                        if db.checks.get(n) != Some(c) {
                            sql.push(format!("{ad} DROP CONSTRAINT {}", ident(n)));
                        }
                    }
                    for (n, c) in &db.checks {
                        if da.checks.get(n) != Some(c) {
                            sql.push(format!("{ad} ADD CONSTRAINT {} {c}", ident(n)));
                            detail.push(format!("constraint {n} differs"));
                        }
                    }
                    if detail.is_empty() {
                        detail.push("constraints differ".into());
                    }
                    let step = Step::new(phase::TYPE, key, sql);
                    self.push(
                        "domain",
                        q.to_string(),
                        Action::Alter,
                        detail.join("; "),
                        None,
                        vec![step],
                    );
                }
            }
        }
        for q in a.domains.keys().filter(|q| !b.domains.contains_key(*q)) {
            let step = Step::drop(
                phase::TYPE,
                keys::type_(q),
                vec![format!("DROP DOMAIN {}", qname(q))],
            );
            self.push(
                "domain",
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![step],
            );
        }
    }

    fn composites(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, cb) in &b.composites {
            let key = keys::type_(q);
            match a.composites.get(q) {
                None => {
                    let step = Step::new(phase::TYPE, key, vec![render::create_composite(cb)]);
                    self.push(
                        "type",
                        q.to_string(),
                        Action::Create,
                        "missing".into(),
                        None,
                        vec![step],
                    );
                }
                Some(ca) if ca == cb => {}
                Some(ca) => {
                    let at = format!("ALTER TYPE {}", qname(q));
                    let mut sql = Vec::new();
                    for x in &ca.attributes {
                        if !cb.attributes.iter().any(|y| y.name == x.name) {
                            sql.push(format!("{at} DROP ATTRIBUTE {}", ident(&x.name)));
                        }
                    }
                    for y in &cb.attributes {
                        let coll = y
                            .collation
                            .as_ref()
                            .map(|c| format!(" COLLATE {c}"))
                            .unwrap_or_default();
                        match ca.attributes.iter().find(|x| x.name == y.name) {
                            None => sql.push(format!(
                                "{at} ADD ATTRIBUTE {} {}{coll}",
                                ident(&y.name),
                                y.type_sql
                            )),
                            Some(x) if x != y => sql.push(format!(
                                "{at} ALTER ATTRIBUTE {} TYPE {}{coll}",
                                ident(&y.name),
                                y.type_sql
                            )),
                            Some(_) => {}
                        }
                    }
                    let step = Step::new(phase::TYPE, key, sql);
                    self.push(
                        "type",
                        q.to_string(),
                        Action::Alter,
                        "attributes differ".into(),
                        None,
                        vec![step],
                    );
                }
            }
        }
        for q in a
            .composites
            .keys()
            .filter(|q| !b.composites.contains_key(*q))
        {
            let step = Step::drop(
                phase::TYPE,
                keys::type_(q),
                vec![format!("DROP TYPE {}", qname(q))],
            );
            self.push(
                "type",
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![step],
            );
        }
    }

    fn sequences(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, sb) in &b.sequences {
            let key = keys::relation(q);
            let owned = |s: &super::model::Sequence| {
                let mut st = Step::new(
                    phase::OWNED_BY,
                    format!("owned:{q}"),
                    vec![render::owned_by(s)],
                );
                if let Some((t, _)) = &s.owned_by {
                    st = st.after(keys::relation(t)).after(key.clone());
                }
                st
            };
            match a.sequences.get(q) {
                None => {
                    let mut steps = vec![Step::new(
                        phase::SEQUENCE,
                        key.clone(),
                        vec![render::create_sequence(sb)],
                    )
                    .after(keys::schema(&q.schema))];
                    if sb.owned_by.is_some() {
                        steps.push(owned(sb));
                    }
                    self.push(
                        "sequence",
                        q.to_string(),
                        Action::Create,
                        "missing".into(),
                        None,
                        steps,
                    );
                }
                Some(sa) if sa == sb => {}
                Some(sa) => {
                    let mut steps = Vec::new();
                    let opts = render::sequence_options(sb, Some(sa));
                    if !opts.is_empty() {
                        steps.push(Step::new(
                            phase::SEQUENCE,
                            key.clone(),
                            vec![format!("ALTER SEQUENCE {}{opts}", qname(q))],
                        ));
                    }
                    if sa.owned_by != sb.owned_by {
                        steps.push(owned(sb));
                    }
                    self.push(
                        "sequence",
                        q.to_string(),
                        Action::Alter,
                        "options differ".into(),
                        None,
                        steps,
                    );
                }
            }
        }
        for (q, sa) in a
            .sequences
            .iter()
            .filter(|(q, _)| !b.sequences.contains_key(*q))
        {
            // A sequence owned by a column that goes away goes with it.
            let with_owner = sa.owned_by.as_ref().is_some_and(|(t, c)| {
                self.gone(&column_key(t, c)) || self.gone(&keys::relation(t))
            });
            let steps = if with_owner {
                Vec::new()
            } else {
                vec![Step::drop(
                    phase::SEQUENCE,
                    keys::relation(q),
                    vec![format!("DROP SEQUENCE {}", qname(q))],
                )]
            };
            self.push(
                "sequence",
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                steps,
            );
        }
    }

    fn tables(&mut self) {
        let (a, b) = (self.a, self.b);
        let created: Vec<&Table> = b
            .tables
            .values()
            .filter(|t| !a.tables.contains_key(&t.name))
            .collect();
        let dropped: Vec<&Table> = a
            .tables
            .values()
            .filter(|t| !b.tables.contains_key(&t.name))
            .collect();
        for t in &created {
            let key = keys::relation(&t.name);
            let mut sql = vec![render::create_table(t)];
            sql.extend(rls_sql(None, t));
            let mut step = Step::new(phase::TABLE, key, sql).after(keys::schema(&t.name.schema));
            for p in &t.inherits {
                step = step.after(keys::relation(p));
            }
            if let Some((p, _)) = &t.partition_of {
                step = step.after(keys::relation(p));
            }
            let h = dropped
                .iter()
                .find(|d| same_shape(d, t))
                .and_then(|d| {
                    hazard(
                        "rename?",
                        &t.name.to_string(),
                        format!(
                            "Table {} is dropped and {} created with the same columns: if this is a rename, use instead: ALTER TABLE {} RENAME TO {};",
                            d.name, t.name, qname(&d.name), ident(&t.name.name)
                        ),
                    )
                });
            self.push(
                "table",
                t.name.to_string(),
                Action::Create,
                "missing".into(),
                h,
                vec![step],
            );
        }
        for t in &dropped {
            let step = Step::drop(
                phase::TABLE,
                keys::relation(&t.name),
                vec![format!("DROP TABLE {}", qname(&t.name))],
            );
            let h = hazard(
                "data-loss",
                &t.name.to_string(),
                format!("Dropping table {} deletes all its rows.", t.name),
            );
            self.push(
                "table",
                t.name.to_string(),
                Action::Drop,
                "not expected".into(),
                h,
                vec![step],
            );
        }
        for (q, ta) in &a.tables {
            if let Some(tb) = b.tables.get(q) {
                self.alter_table(ta, tb);
            }
        }
    }

    fn alter_table(&mut self, ta: &Table, tb: &Table) {
        let q = &tb.name;
        let key = keys::relation(q);
        let name = q.to_string();
        let at = alter_table(q);
        if table_recreated(ta, tb) {
            let drop = Step::drop(
                phase::TABLE,
                key.clone(),
                vec![format!("DROP TABLE {}", qname(q))],
            );
            let mut sql = vec![render::create_table(tb)];
            sql.extend(rls_sql(None, tb));
            let mut create = Step::new(phase::TABLE, key, sql);
            if let Some((p, _)) = &tb.partition_of {
                create = create.after(keys::relation(p));
            }
            let h = hazard(
                "data-loss",
                &name,
                format!("Table {q} is recreated (its partitioning changes): its rows are lost."),
            );
            self.push(
                "table",
                name,
                Action::Alter,
                "partitioning differs".into(),
                h,
                vec![drop, create],
            );
            return;
        }
        let one = |sql: String| vec![Step::new(phase::TABLE, key.clone(), vec![sql])];
        if ta.unlogged != tb.unlogged {
            let s = format!(
                "{at} SET {}",
                if tb.unlogged { "UNLOGGED" } else { "LOGGED" }
            );
            let d = format!("{}, expected {}", logged(ta), logged(tb));
            let h = hazard(
                "rewrite",
                &name,
                format!("Changing {q} to {} rewrites the table.", logged(tb)),
            );
            self.push("table", name.clone(), Action::Alter, d, h, one(s));
        }
        if ta.options != tb.options {
            let mut sql = Vec::new();
            let opt_name = |o: &String| o.split('=').next().unwrap_or(o).to_owned();
            let reset: Vec<String> = ta
                .options
                .iter()
                .map(opt_name)
                .filter(|n| !tb.options.iter().any(|o| opt_name(o) == *n))
                .collect();
            if !reset.is_empty() {
                sql.push(format!("{at} RESET ({})", reset.join(", ")));
            }
            if !tb.options.is_empty() {
                sql.push(format!("{at} SET ({})", tb.options.join(", ")));
            }
            let d = format!(
                "options ({}), expected ({})",
                ta.options.join(", "),
                tb.options.join(", ")
            );
            self.push(
                "table",
                name.clone(),
                Action::Alter,
                d,
                None,
                vec![Step::new(phase::TABLE, key.clone(), sql)],
            );
        }
        for p in ta.inherits.iter().filter(|p| !tb.inherits.contains(p)) {
            let s = format!("{at} NO INHERIT {}", qname(p));
            self.push(
                "table",
                name.clone(),
                Action::Alter,
                format!("inherits {p}, not expected"),
                None,
                one(s),
            );
        }
        for p in tb.inherits.iter().filter(|p| !ta.inherits.contains(p)) {
            let s = format!("{at} INHERIT {}", qname(p));
            let step = Step::new(phase::TABLE, key.clone(), vec![s]).after(keys::relation(p));
            self.push(
                "table",
                name.clone(),
                Action::Alter,
                format!("does not inherit {p}"),
                None,
                vec![step],
            );
        }
        let rls = rls_sql(Some(ta), tb);
        if !rls.is_empty() {
            let d = format!(
                "row level security {}/{}, expected {}/{}",
                ta.rls, ta.force_rls, tb.rls, tb.force_rls
            );
            self.push(
                "table",
                name.clone(),
                Action::Alter,
                d,
                None,
                vec![Step::new(phase::POLICY, key.clone(), rls)],
            );
        }
        let added: Vec<&Column> = tb
            .columns
            .iter()
            .filter(|c| ta.column(&c.name).is_none())
            .collect();
        let removed: Vec<&Column> = ta
            .columns
            .iter()
            .filter(|c| tb.column(&c.name).is_none())
            .collect();
        for c in &removed {
            let step = Step::drop(
                phase::TABLE,
                key.clone(),
                vec![format!("{at} DROP COLUMN {}", ident(&c.name))],
            );
            let rename = added.iter().find(|n| n.type_sql == c.type_sql);
            let h = match rename {
                Some(n) => hazard(
                    "rename?",
                    &name,
                    format!(
                        "Column {q}.{} is dropped and {} added with the same type: if this is a rename, use instead: {at} RENAME COLUMN {} TO {};",
                        c.name, n.name, ident(&c.name), ident(&n.name)
                    ),
                ),
                None => hazard("data-loss", &name, format!("Dropping column {q}.{} deletes its data.", c.name)),
            };
            self.push(
                "table",
                name.clone(),
                Action::Alter,
                format!("column {} not expected", c.name),
                h,
                vec![step],
            );
        }
        for c in &added {
            let h = if c.not_null
                && c.default.is_none()
                && c.identity.is_none()
                && c.generated.is_none()
            {
                hazard(
                    "not-null",
                    &name,
                    format!("Column {q}.{} is added NOT NULL without a default: this fails if the table has rows.", c.name),
                )
            } else {
                None
            };
            let s = format!("{at} ADD COLUMN {}", render::column_def(c));
            self.push(
                "table",
                name.clone(),
                Action::Alter,
                format!("column {} missing", c.name),
                h,
                one(s),
            );
        }
        for ca in &ta.columns {
            if let Some(cb) = tb.column(&ca.name) {
                if ca != cb {
                    self.alter_column(q, ca, cb);
                }
            }
        }
    }

    fn alter_column(&mut self, q: &QName, ca: &Column, cb: &Column) {
        let key = keys::relation(q);
        let name = q.to_string();
        let at = alter_table(q);
        let c = ident(&ca.name);
        let ac = format!("{at} ALTER COLUMN {c}");
        let mut detail = Vec::new();
        let mut drops = Vec::new();
        let mut sql = Vec::new();
        let mut hz = None;
        if ca.generated != cb.generated {
            // A generation expression cannot be altered (before PostgreSQL 17): drop and add.
            detail.push(format!(
                "column {}: generated {}, expected {}",
                ca.name,
                ca.generated.as_deref().unwrap_or("no"),
                cb.generated.as_deref().unwrap_or("no")
            ));
            sql.push(format!("{at} DROP COLUMN {c}"));
            sql.push(format!("{at} ADD COLUMN {}", render::column_def(cb)));
            if ca.generated.is_none() {
                hz = hazard(
                    "data-loss",
                    &name,
                    format!(
                        "Column {q}.{} becomes generated: its data is replaced.",
                        ca.name
                    ),
                );
            }
            self.push(
                "table",
                name,
                Action::Alter,
                detail.join("; "),
                hz,
                vec![Step::new(phase::TABLE, key, sql)],
            );
            return;
        }
        let retype = ca.type_sql != cb.type_sql || ca.collation != cb.collation;
        if ca.identity.is_some() && cb.identity.is_none() {
            sql.push(format!("{ac} DROP IDENTITY"));
        }
        if ca.default.is_some() && (ca.default != cb.default || retype) {
            drops.push(format!("{ac} DROP DEFAULT"));
        }
        if ca.default != cb.default {
            detail.push(format!(
                "column {}: default {}, expected {}",
                ca.name,
                ca.default.as_deref().unwrap_or("none"),
                cb.default.as_deref().unwrap_or("none")
            ));
        }
        if retype {
            let coll = cb
                .collation
                .as_ref()
                .map(|c| format!(" COLLATE {c}"))
                .unwrap_or_default();
            let using = if assignment_cast(&ca.type_sql, &cb.type_sql) {
                String::new()
            } else {
                format!(" USING {c}::{}", cb.type_sql)
            };
            sql.push(format!("{ac} TYPE {}{coll}{using}", cb.type_sql));
            if ca.type_sql != cb.type_sql {
                detail.push(format!(
                    "column {}: type {}, expected {}",
                    ca.name, ca.type_sql, cb.type_sql
                ));
                if !binary_compatible(&ca.type_sql, &cb.type_sql) {
                    hz = hazard(
                        "rewrite",
                        &name,
                        format!(
                            "Changing column {q}.{} from {} to {} rewrites the table under an ACCESS EXCLUSIVE lock.",
                            ca.name, ca.type_sql, cb.type_sql
                        ),
                    );
                }
            } else {
                detail.push(format!(
                    "column {}: collation {}, expected {}",
                    ca.name,
                    ca.collation.as_deref().unwrap_or("default"),
                    cb.collation.as_deref().unwrap_or("default")
                ));
            }
        }
        if let Some(d) = &cb.default {
            if ca.default.as_ref() != Some(d) || retype {
                sql.push(format!("{ac} SET DEFAULT {d}"));
            }
        }
        if ca.not_null != cb.not_null {
            detail.push(format!(
                "column {}: {}, expected {}",
                ca.name,
                nullness(ca.not_null),
                nullness(cb.not_null)
            ));
            if cb.not_null {
                sql.push(format!("{ac} SET NOT NULL"));
                if hz.is_none() {
                    hz = hazard(
                        "not-null",
                        &name,
                        format!(
                            "SET NOT NULL on {q}.{} fails if any row holds NULL, and scans the table under an ACCESS EXCLUSIVE lock.",
                            ca.name
                        ),
                    );
                }
            } else if ca.identity.is_none() || cb.identity.is_none() {
                sql.push(format!("{ac} DROP NOT NULL"));
            }
        }
        match (ca.identity, cb.identity) {
            (None, Some(i)) => sql.push(format!("{ac} ADD{}", render::identity_clause(i))),
            (Some(x), Some(y)) if x != y => sql.push(format!(
                "{ac} SET GENERATED {}",
                if y == 'a' { "ALWAYS" } else { "BY DEFAULT" }
            )),
            _ => {}
        }
        if ca.identity != cb.identity {
            detail.push(format!("column {}: identity differs", ca.name));
        }
        let mut steps = Vec::new();
        if !drops.is_empty() {
            steps.push(Step::drop(phase::TABLE, key.clone(), drops));
        }
        if !sql.is_empty() {
            steps.push(Step::new(phase::TABLE, key, sql));
        }
        if detail.is_empty() {
            detail.push(format!("column {} differs", ca.name));
        }
        self.push("table", name, Action::Alter, detail.join("; "), hz, steps);
    }

    fn functions(&mut self) {
        let (a, b) = (self.a, self.b);
        for (f, fb) in &b.functions {
            let key = keys::function(f);
            let create = Step::new(phase::FUNCTION, key.clone(), vec![fb.definition.clone()])
                .after(keys::schema(&f.schema));
            match a.functions.get(f) {
                None => self.push(
                    fb.kind.sql().to_lowercase().as_str(),
                    f.to_string(),
                    Action::Create,
                    "missing".into(),
                    None,
                    vec![create],
                ),
                Some(fa) if self.recreated.contains(&key) => {
                    let drop = Step::drop(
                        phase::FUNCTION,
                        key,
                        vec![format!("DROP {} {}", fa.kind.sql(), render::func_sig(f))],
                    );
                    self.push(
                        fb.kind.sql().to_lowercase().as_str(),
                        f.to_string(),
                        Action::Alter,
                        "definition differs".into(),
                        None,
                        vec![drop, create],
                    );
                }
                Some(fa) if fa != fb => {
                    self.push(
                        fb.kind.sql().to_lowercase().as_str(),
                        f.to_string(),
                        Action::Alter,
                        "definition differs".into(),
                        None,
                        vec![create],
                    );
                }
                Some(_) => {}
            }
        }
        for (f, fa) in a
            .functions
            .iter()
            .filter(|(f, _)| !b.functions.contains_key(*f))
        {
            let drop = Step::drop(
                phase::FUNCTION,
                keys::function(f),
                vec![format!("DROP {} {}", fa.kind.sql(), render::func_sig(f))],
            );
            self.push(
                fa.kind.sql().to_lowercase().as_str(),
                f.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![drop],
            );
        }
    }

    fn views(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, vb) in &b.views {
            let key = keys::relation(q);
            let kind = if vb.materialized {
                "materialized view"
            } else {
                "view"
            };
            let create = Step::new(phase::VIEW, key.clone(), vec![render::create_view(vb)])
                .after(keys::schema(&q.schema));
            match a.views.get(q) {
                None => self.push(
                    kind,
                    q.to_string(),
                    Action::Create,
                    "missing".into(),
                    None,
                    vec![create],
                ),
                Some(va) if self.recreated.contains(&key) => {
                    let drop = Step::drop(phase::VIEW, key, vec![render::drop_view(va)]);
                    let detail = if va == vb {
                        "recreated with what it depends on"
                    } else {
                        "definition differs"
                    };
                    if va != vb {
                        self.push(
                            kind,
                            q.to_string(),
                            Action::Alter,
                            detail.into(),
                            None,
                            vec![drop, create],
                        );
                    } else {
                        // Not a difference in itself: recreated because something it uses changes.
                        self.out.push(Change {
                            kind: kind.into(),
                            name: q.to_string(),
                            action: Action::Alter,
                            detail: String::new(),
                            hazard: None,
                            steps: vec![drop, create],
                        });
                    }
                }
                Some(_) => {}
            }
        }
        for (q, va) in a.views.iter().filter(|(q, _)| !b.views.contains_key(*q)) {
            let kind = if va.materialized {
                "materialized view"
            } else {
                "view"
            };
            let drop = Step::drop(phase::VIEW, keys::relation(q), vec![render::drop_view(va)]);
            self.push(
                kind,
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                vec![drop],
            );
        }
    }

    /// Objects that belong to a table: created, dropped (unless their table goes), recreated.
    #[allow(clippy::too_many_arguments)]
    fn children<T: PartialEq>(
        &mut self,
        kind: &str,
        a: &BTreeMap<ChildId, T>,
        b: &BTreeMap<ChildId, T>,
        key: fn(&ChildId) -> String,
        ph: &dyn Fn(&T) -> u8,
        create: &dyn Fn(&Self, &ChildId, &T) -> Step,
        drop: &dyn Fn(&ChildId, &T) -> String,
    ) {
        for (id, ob) in b {
            let k = key(id);
            let label = id.to_string();
            match a.get(id) {
                None => {
                    let st = create(self, id, ob);
                    self.push(
                        kind,
                        label,
                        Action::Create,
                        "missing".into(),
                        None,
                        vec![st],
                    );
                }
                Some(oa) if oa != ob || self.recreated.contains(&k) => {
                    let mut steps = Vec::new();
                    if !self.table_goes(&id.table) {
                        steps.push(Step::drop(ph(oa), k.clone(), vec![drop(id, oa)]));
                    }
                    steps.push(create(self, id, ob));
                    let detail = if oa != ob { "definition differs" } else { "" };
                    self.out.push(Change {
                        kind: kind.into(),
                        name: label,
                        action: Action::Alter,
                        detail: detail.into(),
                        hazard: None,
                        steps,
                    });
                }
                Some(_) => {}
            }
        }
        for (id, oa) in a.iter().filter(|(id, _)| !b.contains_key(*id)) {
            let steps = if self.table_goes(&id.table) {
                Vec::new()
            } else {
                vec![Step::drop(ph(oa), key(id), vec![drop(id, oa)])]
            };
            self.push(
                kind,
                id.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                steps,
            );
        }
    }

    /// The table (or view) is dropped or recreated: what belongs to it goes with it.
    fn table_goes(&self, t: &QName) -> bool {
        let k = keys::relation(t);
        self.gone(&k) || self.recreated.contains(&k)
    }

    fn constraints(&mut self) {
        let (a, b) = (self.a, self.b);
        let conc = self.opts.concurrently;
        let ph = |c: &super::model::Constraint| {
            if c.kind == 'f' {
                phase::FOREIGN_KEY
            } else {
                phase::CONSTRAINT
            }
        };
        let create = move |d: &Self, id: &ChildId, c: &super::model::Constraint| {
            let existing = d.a.tables.contains_key(&id.table)
                && !d.recreated.contains(&keys::relation(&id.table));
            let late = conc
                && existing
                && (c.kind == 'f' || c.kind == 'c')
                && !c.definition.ends_with("NOT VALID");
            let mut sql = vec![render::add_constraint(c, late)];
            if late {
                sql.push(format!(
                    "{} VALIDATE CONSTRAINT {}",
                    alter_table(&id.table),
                    ident(&id.name)
                ));
            }
            Step::new(ph(c), keys::constraint(id), sql).after(keys::relation(&id.table))
        };
        self.children(
            "constraint",
            &a.constraints,
            &b.constraints,
            keys::constraint,
            &ph,
            &create,
            &|_, c| render::drop_constraint(c),
        );
    }

    fn indexes(&mut self) {
        let (a, b) = (self.a, self.b);
        for (q, ib) in &b.indexes {
            let key = keys::index(q);
            let existing = a.tables.contains_key(&ib.table)
                && !self.recreated.contains(&keys::relation(&ib.table));
            let conc = self.opts.concurrently && existing;
            let def = if conc {
                ib.definition.replacen(" INDEX ", " INDEX CONCURRENTLY ", 1)
            } else {
                ib.definition.clone()
            };
            let mut create =
                Step::new(phase::INDEX, key.clone(), vec![def]).after(keys::relation(&ib.table));
            create.concurrent = conc;
            match a.indexes.get(q) {
                None => self.push(
                    "index",
                    q.to_string(),
                    Action::Create,
                    "missing".into(),
                    None,
                    vec![create],
                ),
                Some(ia) if ia != ib || self.recreated.contains(&key) => {
                    let mut steps = Vec::new();
                    if !self.table_goes(&ia.table) {
                        steps.push(Step::drop(
                            phase::INDEX,
                            key.clone(),
                            vec![format!("DROP INDEX {}", qname(q))],
                        ));
                    }
                    steps.push(create);
                    let detail = if ia != ib { "definition differs" } else { "" };
                    self.out.push(Change {
                        kind: "index".into(),
                        name: q.to_string(),
                        action: Action::Alter,
                        detail: detail.into(),
                        hazard: None,
                        steps,
                    });
                }
                Some(_) => {}
            }
        }
        for (q, ia) in a
            .indexes
            .iter()
            .filter(|(q, _)| !b.indexes.contains_key(*q))
        {
            let steps = if self.table_goes(&ia.table) {
                Vec::new()
            } else {
                vec![Step::drop(
                    phase::INDEX,
                    keys::index(q),
                    vec![format!("DROP INDEX {}", qname(q))],
                )]
            };
            self.push(
                "index",
                q.to_string(),
                Action::Drop,
                "not expected".into(),
                None,
                steps,
            );
        }
    }

    fn triggers(&mut self) {
        let (a, b) = (self.a, self.b);
        self.children(
            "trigger",
            &a.triggers,
            &b.triggers,
            keys::trigger,
            &|_| phase::TRIGGER,
            &|_, id, t| {
                Step::new(
                    phase::TRIGGER,
                    keys::trigger(id),
                    vec![t.definition.clone()],
                )
                .after(keys::relation(&id.table))
            },
            &|id, _| format!("DROP TRIGGER {} ON {}", ident(&id.name), qname(&id.table)),
        );
    }

    fn policies(&mut self) {
        let (a, b) = (self.a, self.b);
        self.children(
            "policy",
            &a.policies,
            &b.policies,
            keys::policy,
            &|_| phase::POLICY,
            &|_, id, p| {
                Step::new(
                    phase::POLICY,
                    keys::policy(id),
                    vec![render::create_policy(p)],
                )
                .after(keys::relation(&id.table))
            },
            &|id, _| format!("DROP POLICY {} ON {}", ident(&id.name), qname(&id.table)),
        );
    }

    fn privileges(&mut self) {
        let (a, b) = (self.a, self.b);
        for p in &b.privileges {
            if !a.privileges.contains(p) || self.recreated.contains(&p.on.key) {
                let st = Step::new(
                    phase::PRIVILEGE,
                    format!("priv:{}", p.on.key),
                    vec![render::apply_privilege(p)],
                )
                .after(p.on.key.clone());
                let what = if p.revoked { "revoked" } else { "granted" };
                let detail = format!(
                    "{} on {} to {}: not {what}",
                    p.privilege, p.on.sql, p.grantee
                );
                let action = if a.privileges.contains(p) {
                    Action::Alter
                } else {
                    Action::Create
                };
                let detail = if a.privileges.contains(p) {
                    String::new()
                } else {
                    detail
                };
                self.out.push(Change {
                    kind: "privilege".into(),
                    name: p.on.sql.clone(),
                    action,
                    detail,
                    hazard: None,
                    steps: vec![st],
                });
            }
        }
        for p in &a.privileges {
            if !b.privileges.contains(p)
                && !self.gone(&p.on.key)
                && !self.recreated.contains(&p.on.key)
            {
                let st = Step::new(
                    phase::PRIVILEGE,
                    format!("priv:{}", p.on.key),
                    vec![render::undo_privilege(p)],
                );
                let what = if p.revoked { "revoked" } else { "granted" };
                let detail = format!(
                    "{} on {} to {}: {what}, not expected",
                    p.privilege, p.on.sql, p.grantee
                );
                self.push(
                    "privilege",
                    p.on.sql.clone(),
                    Action::Drop,
                    detail,
                    None,
                    vec![st],
                );
            }
        }
    }

    fn comments(&mut self) {
        let (a, b) = (self.a, self.b);
        for (on, text) in &b.comments {
            let old = a.comments.get(on);
            if old != Some(text) || self.recreated.contains(&on.key) {
                let st = Step::new(
                    phase::COMMENT,
                    format!("comment:{}", on.key),
                    vec![format!("COMMENT ON {} IS {}", on.sql, literal(text))],
                )
                .after(on.key.clone());
                let detail = if old == Some(text) {
                    String::new()
                } else {
                    format!("comment on {} differs", on.sql)
                };
                self.out.push(Change {
                    kind: "comment".into(),
                    name: on.sql.clone(),
                    action: if old.is_some() {
                        Action::Alter
                    } else {
                        Action::Create
                    },
                    detail,
                    hazard: None,
                    steps: vec![st],
                });
            }
        }
        for on in a.comments.keys().filter(|on| !b.comments.contains_key(*on)) {
            if self.gone(&on.key) || self.recreated.contains(&on.key) {
                continue;
            }
            let st = Step::new(
                phase::COMMENT,
                format!("comment:{}", on.key),
                vec![format!("COMMENT ON {} IS NULL", on.sql)],
            );
            self.push(
                "comment",
                on.sql.clone(),
                Action::Drop,
                format!("comment on {} not expected", on.sql),
                None,
                vec![st],
            );
        }
    }
}

fn logged(t: &Table) -> &'static str {
    if t.unlogged {
        "unlogged"
    } else {
        "logged"
    }
}

fn nullness(not_null: bool) -> &'static str {
    if not_null {
        "NOT NULL"
    } else {
        "nullable"
    }
}

fn table_recreated(a: &Table, b: &Table) -> bool {
    a.partition_of != b.partition_of || a.partition_by != b.partition_by
}

/// The statements that make `b`'s row-level security flags from `a`'s (none for a new table).
fn rls_sql(a: Option<&Table>, b: &Table) -> Vec<String> {
    let at = alter_table(&b.name);
    let (rls, force) = a.map(|a| (a.rls, a.force_rls)).unwrap_or((false, false));
    let mut sql = Vec::new();
    if rls != b.rls {
        let v = if b.rls { "ENABLE" } else { "DISABLE" };
        sql.push(format!("{at} {v} ROW LEVEL SECURITY"));
    }
    if force != b.force_rls {
        let v = if b.force_rls { "FORCE" } else { "NO FORCE" };
        sql.push(format!("{at} {v} ROW LEVEL SECURITY"));
    }
    sql
}

/// Whether two tables have the same columns (names aside), to suspect a rename.
fn same_shape(a: &Table, b: &Table) -> bool {
    let shape = |t: &Table| {
        let mut v: Vec<(String, String)> = t
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.type_sql.clone()))
            .collect();
        v.sort();
        v
    };
    !a.columns.is_empty() && shape(a) == shape(b)
}

fn is_subsequence(old: &[String], new: &[String]) -> bool {
    let mut it = new.iter();
    old.iter().all(|v| it.any(|n| n == v))
}

/// Columns (of tables in `c`) whose type is the enum `q` or an array of it.
fn enum_columns(c: &Catalog, q: &QName) -> Vec<(QName, Column)> {
    let names = [qname(q), format!("{}.{}", ident(&q.schema), ident(&q.name))];
    let mut out = Vec::new();
    for (t, table) in &c.tables {
        for col in &table.columns {
            let base = col.type_sql.trim_end_matches("[]");
            if names.iter().any(|n| n == base) {
                out.push((t.clone(), col.clone()));
            }
        }
    }
    out
}
