//! What the revisions walked so far have built, as far as lint needs it: tables and their
//! columns' types, indexes (by leading columns), `CHECK (col IS NOT NULL)` constraints and
//! whether they are validated, and what the revision being walked created (a table created in
//! the same revision holds no data yet). Names are kept as PostgreSQL folds them; a table in
//! `public` or unqualified is keyed by its bare name.

use std::collections::{HashMap, HashSet};

use pg_query::protobuf::{
    AlterTableType, ConstrType, Constraint, NullTestType, ObjectType, RangeVar, TypeName,
};
use pg_query::{Node, NodeEnum};

/// A column type as written: the type's name (PostgreSQL's, e.g. `int4`, `varchar`), its
/// modifiers (`varchar(20)` → `[20]`, `numeric(10,2)` → `[10, 2]`) and whether it is an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ty {
    pub name: String,
    pub mods: Vec<i32>,
    pub array: bool,
}

impl Ty {
    /// The type of a parsed type name.
    pub fn of(t: &TypeName) -> Ty {
        let name = t
            .names
            .iter()
            .filter_map(str_of)
            .next_back()
            .unwrap_or_default()
            .to_owned();
        let mods = t
            .typmods
            .iter()
            .filter_map(|m| match &m.node {
                Some(NodeEnum::AConst(c)) => match &c.val {
                    Some(pg_query::protobuf::a_const::Val::Ival(i)) => Some(i.ival),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        Ty {
            name,
            mods,
            array: !t.array_bounds.is_empty(),
        }
    }
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if !self.mods.is_empty() {
            let m: Vec<String> = self.mods.iter().map(|m| m.to_string()).collect();
            write!(f, "({})", m.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// One column.
#[derive(Debug, Clone, Default)]
pub struct Column {
    pub ty: Option<Ty>,
    pub not_null: bool,
}

/// One table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: HashMap<String, Column>,
    /// Each index's name (empty when unnamed) and key columns, in order.
    pub indexes: Vec<(String, Vec<String>)>,
    /// `CHECK (col IS NOT NULL)` constraints: name → (column, validated).
    pub checks: HashMap<String, (String, bool)>,
}

impl Table {
    /// True when a validated `CHECK (col IS NOT NULL)` covers `col` (a later `SET NOT NULL`
    /// then skips its scan).
    pub fn has_validated_not_null_check(&self, col: &str) -> bool {
        self.checks.values().any(|(c, valid)| c == col && *valid)
    }

    /// True when an index's leading columns are exactly `cols` (in any order).
    pub fn has_index_leading(&self, cols: &[String]) -> bool {
        self.indexes.iter().any(|(_, ix)| {
            ix.len() >= cols.len() && cols.iter().all(|c| ix[..cols.len()].contains(c))
        })
    }
}

/// The model.
#[derive(Debug, Default)]
pub struct Schema {
    pub tables: HashMap<String, Table>,
    /// Index name → its table.
    pub index_tables: HashMap<String, String>,
    /// Tables, indexes and types created by the revision being walked.
    pub new_tables: HashSet<String>,
    pub new_indexes: HashSet<String>,
    pub new_types: HashSet<String>,
}

/// The text of a `String` node.
pub fn str_of(n: &Node) -> Option<&str> {
    match &n.node {
        Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
        _ => None,
    }
}

/// A relation's key: `name`, or `schema.name` outside `public`.
pub fn rel_name(rv: &RangeVar) -> String {
    qualify(&rv.schemaname, &rv.relname)
}

fn qualify(schema: &str, name: &str) -> String {
    if schema.is_empty() || schema == "public" {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

/// The key of a dotted name given as a list of `String` nodes (`DROP TABLE s.t`).
pub fn list_name(items: &[Node]) -> String {
    let parts: Vec<&str> = items.iter().filter_map(str_of).collect();
    match parts.as_slice() {
        [] => String::new(),
        [n] => (*n).to_owned(),
        [.., s, n] => qualify(s, n),
    }
}

/// The name of each object a `DROP` names.
pub fn drop_names(objects: &[Node]) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| match &o.node {
            Some(NodeEnum::List(l)) => Some(list_name(&l.items)),
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            Some(NodeEnum::TypeName(t)) => Some(list_name(&t.names)),
            _ => None,
        })
        .collect()
}

/// The column names of a list of `String` nodes (constraint keys).
pub fn strings(items: &[Node]) -> Vec<String> {
    items.iter().filter_map(str_of).map(str::to_owned).collect()
}

/// The column a `CHECK (col IS NOT NULL)` expression tests, if that is all it tests.
pub fn not_null_check_column(c: &Constraint) -> Option<String> {
    match c.raw_expr.as_deref()?.node.as_ref()? {
        NodeEnum::NullTest(t) if t.nulltesttype == NullTestType::IsNotNull as i32 => {
            match t.arg.as_deref()?.node.as_ref()? {
                NodeEnum::ColumnRef(r) => r.fields.last().and_then(str_of).map(str::to_owned),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The node inside an optional boxed node.
pub fn inner(n: &Option<Box<Node>>) -> Option<&NodeEnum> {
    n.as_deref().and_then(|n| n.node.as_ref())
}

impl Schema {
    /// Starts a revision: nothing in it is new yet.
    pub fn begin_revision(&mut self) {
        self.new_tables.clear();
        self.new_indexes.clear();
        self.new_types.clear();
    }

    /// True unless `table` was created by the revision being walked (a table never seen is
    /// taken as existing: it may have been made outside the migrations).
    pub fn is_existing(&self, table: &str) -> bool {
        !self.new_tables.contains(table)
    }

    /// The table of an index, when known.
    pub fn table_of_index(&self, index: &str) -> Option<&str> {
        self.index_tables.get(index).map(String::as_str)
    }

    /// Records what a statement builds, renames or drops.
    pub fn apply(&mut self, node: &NodeEnum) {
        match node {
            NodeEnum::CreateStmt(c) => {
                let Some(rv) = &c.relation else { return };
                let name = rel_name(rv);
                if c.if_not_exists && self.tables.contains_key(&name) {
                    return;
                }
                let mut t = Table::default();
                for e in &c.table_elts {
                    match &e.node {
                        Some(NodeEnum::ColumnDef(cd)) => add_column(&mut t, &name, cd, true),
                        Some(NodeEnum::Constraint(k)) => add_constraint(&mut t, &name, k, true),
                        _ => {}
                    }
                }
                for k in &c.constraints {
                    if let Some(NodeEnum::Constraint(k)) = &k.node {
                        add_constraint(&mut t, &name, k, true);
                    }
                }
                self.tables.insert(name.clone(), t);
                self.new_tables.insert(name);
            }
            NodeEnum::CreateTableAsStmt(c) => {
                if let Some(rv) = c.into.as_ref().and_then(|i| i.rel.as_ref()) {
                    let name = rel_name(rv);
                    self.tables.insert(name.clone(), Table::default());
                    self.new_tables.insert(name);
                }
            }
            NodeEnum::AlterTableStmt(a) => {
                let Some(rv) = &a.relation else { return };
                let name = rel_name(rv);
                let t = self.tables.entry(name.clone()).or_default();
                for cmd in &a.cmds {
                    let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node else {
                        continue;
                    };
                    let sub = cmd.subtype;
                    if sub == AlterTableType::AtAddColumn as i32 {
                        if let Some(NodeEnum::ColumnDef(cd)) = inner(&cmd.def) {
                            add_column(t, &name, cd, false);
                        }
                    } else if sub == AlterTableType::AtDropColumn as i32 {
                        t.columns.remove(&cmd.name);
                    } else if sub == AlterTableType::AtAlterColumnType as i32 {
                        if let Some(NodeEnum::ColumnDef(cd)) = inner(&cmd.def) {
                            if let Some(tn) = &cd.type_name {
                                t.columns.entry(cmd.name.clone()).or_default().ty =
                                    Some(Ty::of(tn));
                            }
                        }
                    } else if sub == AlterTableType::AtSetNotNull as i32 {
                        t.columns.entry(cmd.name.clone()).or_default().not_null = true;
                    } else if sub == AlterTableType::AtDropNotNull as i32 {
                        t.columns.entry(cmd.name.clone()).or_default().not_null = false;
                    } else if sub == AlterTableType::AtAddConstraint as i32 {
                        if let Some(NodeEnum::Constraint(k)) = inner(&cmd.def) {
                            add_constraint(t, &name, k, false);
                        }
                    } else if sub == AlterTableType::AtValidateConstraint as i32 {
                        if let Some(c) = t.checks.get_mut(&cmd.name) {
                            c.1 = true;
                        }
                    } else if sub == AlterTableType::AtDropConstraint as i32 {
                        t.checks.remove(&cmd.name);
                        t.indexes.retain(|(n, _)| n != &cmd.name);
                    }
                }
            }
            NodeEnum::RenameStmt(r) => {
                let Some(rv) = &r.relation else { return };
                let name = rel_name(rv);
                if r.rename_type == ObjectType::ObjectTable as i32 {
                    let to = qualify(&rv.schemaname, &r.newname);
                    if let Some(t) = self.tables.remove(&name) {
                        self.tables.insert(to.clone(), t);
                    }
                    if self.new_tables.remove(&name) {
                        self.new_tables.insert(to.clone());
                    }
                    for t in self.index_tables.values_mut() {
                        if *t == name {
                            *t = to.clone();
                        }
                    }
                } else if r.rename_type == ObjectType::ObjectColumn as i32 {
                    if let Some(t) = self.tables.get_mut(&name) {
                        if let Some(c) = t.columns.remove(&r.subname) {
                            t.columns.insert(r.newname.clone(), c);
                        }
                        for (_, cols) in &mut t.indexes {
                            for c in cols.iter_mut() {
                                if *c == r.subname {
                                    *c = r.newname.clone();
                                }
                            }
                        }
                        for (col, _) in t.checks.values_mut() {
                            if *col == r.subname {
                                *col = r.newname.clone();
                            }
                        }
                    }
                } else if r.rename_type == ObjectType::ObjectIndex as i32 {
                    if let Some(t) = self.index_tables.remove(&name) {
                        self.index_tables.insert(r.newname.clone(), t);
                    }
                }
            }
            NodeEnum::DropStmt(d) => {
                let names = drop_names(&d.objects);
                if d.remove_type == ObjectType::ObjectTable as i32 {
                    for n in names {
                        self.tables.remove(&n);
                        self.new_tables.remove(&n);
                        self.index_tables.retain(|_, t| *t != n);
                    }
                } else if d.remove_type == ObjectType::ObjectIndex as i32 {
                    for n in names {
                        if let Some(t) = self.index_tables.remove(&n) {
                            if let Some(t) = self.tables.get_mut(&t) {
                                t.indexes.retain(|(i, _)| *i != n);
                            }
                        }
                    }
                }
            }
            NodeEnum::IndexStmt(i) => {
                let Some(rv) = &i.relation else { return };
                let table = rel_name(rv);
                let cols: Vec<String> = i
                    .index_params
                    .iter()
                    .map(|p| match &p.node {
                        Some(NodeEnum::IndexElem(e)) => e.name.clone(),
                        _ => String::new(),
                    })
                    .collect();
                self.tables
                    .entry(table.clone())
                    .or_default()
                    .indexes
                    .push((i.idxname.clone(), cols));
                if !i.idxname.is_empty() {
                    let key = qualify(&rv.schemaname, &i.idxname);
                    self.index_tables.insert(key.clone(), table);
                    self.new_indexes.insert(key);
                }
            }
            NodeEnum::CreateEnumStmt(e) => {
                self.new_types.insert(list_name(&e.type_name));
            }
            _ => {}
        }
    }
}

/// Adds a column (and the indexes and checks its constraints make).
fn add_column(t: &mut Table, table: &str, cd: &pg_query::protobuf::ColumnDef, new_table: bool) {
    let mut col = Column {
        ty: cd.type_name.as_ref().map(Ty::of),
        not_null: cd.is_not_null,
    };
    for k in &cd.constraints {
        let Some(NodeEnum::Constraint(k)) = &k.node else {
            continue;
        };
        let kind = k.contype;
        if kind == ConstrType::ConstrNotnull as i32 || kind == ConstrType::ConstrPrimary as i32 {
            col.not_null = true;
        }
        if kind == ConstrType::ConstrPrimary as i32 || kind == ConstrType::ConstrUnique as i32 {
            t.indexes
                .push((k.conname.clone(), vec![cd.colname.clone()]));
        }
        if kind == ConstrType::ConstrCheck as i32 {
            if let Some(c) = not_null_check_column(k) {
                let name = check_name(&k.conname, table, &c);
                t.checks.insert(name, (c, new_table || !k.skip_validation));
            }
        }
    }
    t.columns.insert(cd.colname.clone(), col);
}

/// Adds a table constraint.
fn add_constraint(t: &mut Table, table: &str, k: &Constraint, new_table: bool) {
    let kind = k.contype;
    if kind == ConstrType::ConstrPrimary as i32 || kind == ConstrType::ConstrUnique as i32 {
        let keys = strings(&k.keys);
        if kind == ConstrType::ConstrPrimary as i32 {
            for c in &keys {
                t.columns.entry(c.clone()).or_default().not_null = true;
            }
        }
        if !keys.is_empty() {
            t.indexes.push((k.conname.clone(), keys));
        }
    } else if kind == ConstrType::ConstrCheck as i32 {
        if let Some(c) = not_null_check_column(k) {
            let name = check_name(&k.conname, table, &c);
            t.checks.insert(name, (c, new_table || !k.skip_validation));
        }
    }
}

/// A check constraint's name: as given, else PostgreSQL's `<table>_<column>_check`.
fn check_name(given: &str, table: &str, col: &str) -> String {
    if given.is_empty() {
        let bare = table.rsplit('.').next().unwrap_or(table);
        format!("{bare}_{col}_check")
    } else {
        given.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_after(sql: &str) -> Schema {
        let mut s = Schema::default();
        let parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).unwrap();
        for st in &parsed.protobuf.stmts {
            s.apply(st.stmt.as_ref().unwrap().node.as_ref().unwrap());
        }
        s
    }

    #[test]
    fn tables_columns_and_indexes_are_tracked() {
        let s = schema_after(
            "CREATE TABLE app.users (id bigint PRIMARY KEY, email varchar(20) NOT NULL, org int);
             CREATE INDEX users_org ON app.users (org, id);
             ALTER TABLE app.users ALTER COLUMN email TYPE varchar(40);",
        );
        let t = &s.tables["app.users"];
        assert_eq!(
            t.columns["email"].ty,
            Some(Ty {
                name: "varchar".into(),
                mods: vec![40],
                array: false
            })
        );
        assert!(t.columns["id"].not_null);
        assert!(t.has_index_leading(&["org".into()]));
        assert!(!t.has_index_leading(&["email".into()]));
        assert_eq!(s.table_of_index("app.users_org"), Some("app.users"));
        assert!(!s.is_existing("app.users"));
    }

    #[test]
    fn not_null_checks_are_validated_by_validate_constraint() {
        let mut s = schema_after("CREATE TABLE t (a int)");
        s.begin_revision();
        assert!(s.is_existing("t"));
        let parsed = pg_query::parse(
            "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID",
            pg_query::ParserOptions::DEFAULT,
        )
        .unwrap();
        s.apply(
            parsed.protobuf.stmts[0]
                .stmt
                .as_ref()
                .unwrap()
                .node
                .as_ref()
                .unwrap(),
        );
        assert!(!s.tables["t"].has_validated_not_null_check("a"));
        let parsed = pg_query::parse(
            "ALTER TABLE t VALIDATE CONSTRAINT a_nn",
            pg_query::ParserOptions::DEFAULT,
        )
        .unwrap();
        s.apply(
            parsed.protobuf.stmts[0]
                .stmt
                .as_ref()
                .unwrap()
                .node
                .as_ref()
                .unwrap(),
        );
        assert!(s.tables["t"].has_validated_not_null_check("a"));
    }

    #[test]
    fn renames_and_drops_move_the_model() {
        let s = schema_after(
            "CREATE TABLE t (a int); ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME TO u; CREATE TABLE v (x int); DROP TABLE v;",
        );
        assert!(s.tables["u"].columns.contains_key("b"));
        assert!(!s.tables.contains_key("t"));
        assert!(!s.tables.contains_key("v"));
        assert!(s.new_tables.contains("u"));
    }
}
