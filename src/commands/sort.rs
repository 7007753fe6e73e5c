//! SORT and SORT_RO over lists, sets and sorted sets: BY (including
//! `nosort` and hash fields `->`), LIMIT, GET (`#`, patterns, hash fields),
//! ASC|DESC, ALPHA, STORE.

use crate::executor::notify::class;
use std::cmp::Ordering;

use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, keys, CommandDef, Ctx};
use super::{key_at, key_spec, BeginSearch, FindKeys, FoundKey};
use crate::cmd;
use crate::db::{Db, Obj, Value};
use crate::types::list::List;
use crate::util::{eq_ic, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const LIMIT_ARG: Arg = block("limit", &[integer("offset"), integer("count")]).token("LIMIT").optional();
const ORDER_ARG: Arg = oneof("order", &[pure_token("asc", "ASC"), pure_token("desc", "DESC")]).optional();

pub static COMMANDS: &[CommandDef] = &[
    cmd!("sort", -2, WRITE | DENYOOM | MOVABLEKEYS, acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS, keys(1, 1, 1), sort,
        "generic", "1.0.0", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.")
                                                                                                                                                                                                                                                                                              .with_args(&[
                                                                                                                                                                                                                                                                                                  key("key", 0),
                                                                                                                                                                                                                                                                                                  pattern("by-pattern").key_spec(1).token("BY").display("pattern").optional(),
                                                                                                                                                                                                                                                                                                  LIMIT_ARG,
                                                                                                                                                                                                                                                                                                  pattern("get-pattern").key_spec(1).token("GET").display("pattern").optional().multiple().multiple_token(),
                                                                                                                                                                                                                                                                                                  ORDER_ARG,
                                                                                                                                                                                                                                                                                                  pure_token("sorting", "ALPHA").optional(),
                                                                                                                                                                                                                                                                                                  key("destination", 2).token("STORE").optional(),
                                                                                                                                                                                                                                                                                              ])
    .with_key_specs(&[key_at(1, &["RO", "access"]), key_spec(&["RO", "access"], BeginSearch::Unknown, FindKeys::Unknown).noted("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"), key_spec(&["OW", "update"], BeginSearch::Unknown, FindKeys::Unknown).noted("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array")])
    .with_key_finder(sort_keys),
    cmd!("sort_ro", -2, READONLY | MOVABLEKEYS, acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS, keys(1, 1, 1), sort_ro,
        "generic", "7.0.0", "O(N+M*log(M)) where N is the number of elements in the list/set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", "Returns the sorted elements of a list, a set, or a sorted set.")
                                                                                                                                                                                                                                                                     .with_args(&[
                                                                                                                                                                                                                                                                         key("key", 0),
                                                                                                                                                                                                                                                                         pattern("by-pattern").key_spec(1).token("BY").display("pattern").optional(),
                                                                                                                                                                                                                                                                         LIMIT_ARG,
                                                                                                                                                                                                                                                                         pattern("get-pattern").key_spec(1).token("GET").display("pattern").optional().multiple().multiple_token(),
                                                                                                                                                                                                                                                                         ORDER_ARG,
                                                                                                                                                                                                                                                                         pure_token("sorting", "ALPHA").optional(),
                                                                                                                                                                                                                                                                     ])
    .with_key_specs(&[key_at(1, &["RO", "access"]), key_spec(&["RO", "access"], BeginSearch::Unknown, FindKeys::Unknown).noted("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort")])
    .with_key_finder(|_| vec![(1, &["RO", "access"])]),
];

/// Redis's sortGetKeys: the sorted key, and the last STORE's destination
/// (the arguments of LIMIT, GET and BY skipped, as SORT parses them).
fn sort_keys(argv: &[Bytes]) -> Vec<FoundKey> {
    let mut keys: Vec<FoundKey> = vec![(1, &["RO", "access"])];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if eq_ic(a, "limit") {
            i += 2;
        } else if eq_ic(a, "get") || eq_ic(a, "by") {
            i += 1;
        } else if eq_ic(a, "store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store.map(|at| (at, &["OW", "update"][..])));
    keys
}

struct SortArgs {
    by: Option<Bytes>,
    /// BY pattern without '*': keep the stored order.
    dont_sort: bool,
    limit: Option<(i64, i64)>,
    gets: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

fn parse(ctx: &mut Ctx, args: &[Bytes], allow_store: bool) -> Option<SortArgs> {
    let mut a =
        SortArgs { by: None, dont_sort: false, limit: None, gets: Vec::new(), desc: false, alpha: false, store: None };
    let mut i = 2;
    while i < args.len() {
        let left = args.len() - i - 1;
        let w = &args[i];
        if eq_ic(w, "asc") {
            a.desc = false;
        } else if eq_ic(w, "desc") {
            a.desc = true;
        } else if eq_ic(w, "alpha") {
            a.alpha = true;
        } else if eq_ic(w, "limit") && left >= 2 {
            let (Some(o), Some(c)) = (parse_i64(&args[i + 1]), parse_i64(&args[i + 2])) else {
                ctx.not_integer();
                return None;
            };
            a.limit = Some((o, c));
            i += 2;
        } else if eq_ic(w, "store") && left >= 1 && allow_store {
            a.store = Some(args[i + 1].clone());
            i += 1;
        } else if eq_ic(w, "by") && left >= 1 {
            let p = args[i + 1].clone();
            a.dont_sort = !p.contains(&b'*');
            a.by = Some(p);
            i += 1;
        } else if eq_ic(w, "get") && left >= 1 {
            a.gets.push(args[i + 1].clone());
            i += 1;
        } else {
            ctx.syntax_error();
            return None;
        }
        i += 1;
    }
    Some(a)
}

/// Resolves a BY/GET pattern for one element, as Redis's
/// lookupKeyByPattern: `#` is the element itself, the first `*` is
/// replaced by it, and `key->field` reads a hash field.
fn lookup_pattern(db: &mut Db, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let arrow = pattern.windows(2).rposition(|w| w == b"->").filter(|&p| p > star && p + 2 < pattern.len());
    let key_end = arrow.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(key_end + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let obj = db.get(&key)?;
    match (arrow, &obj.val) {
        (Some(p), Value::Hash(h)) => h.get(&pattern[p + 2..]).map(|v| v.into_owned()),
        (None, v) => v.as_bytes().map(|b| b.into_owned()),
        _ => None,
    }
}

/// Elements of the value at `key` in their stored order; Err(()) after a
/// WRONGTYPE reply.
fn elements(ctx: &mut Ctx, key: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
    Ok(match ctx.db().get(key).map(|o| &o.val) {
        None => Vec::new(),
        Some(Value::List(l)) => l.iter().map(|e| e.to_vec()).collect(),
        Some(Value::Set(s)) => s.members().into_iter().map(|m| m.into_owned()).collect(),
        Some(Value::ZSet(z)) => z.iter().map(|(m, _)| m).collect(),
        Some(_) => {
            ctx.wrongtype();
            return Err(());
        }
    })
}

/// A score for numeric sorting: strtod-like (leading spaces allowed),
/// nothing trailing, no NaN.
fn numeric(v: &[u8]) -> Option<f64> {
    let start = v.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(v.len());
    crate::util::parse_f64(&v[start..])
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], read_only: bool) {
    let Some(mut a) = parse(ctx, args, !read_only) else { return };
    let Ok(mut elems) = elements(ctx, &args[1]) else { return };
    let kind = ctx.db().get(&args[1]).map(|o| o.type_name());
    // A set has no order of its own: stored results are sorted so that
    // replicas and the AOF agree, as Redis does.
    if a.dont_sort && kind == Some("set") && a.store.is_some() {
        a.dont_sort = false;
        a.alpha = true;
        a.by = None;
    }
    // A list or zset kept in its own order is reversed for DESC, as Redis does.
    if a.dont_sort && a.desc && matches!(kind, Some("list" | "zset")) {
        elems.reverse();
    }
    if !a.dont_sort {
        let db = ctx.client.db;
        let keyed: Vec<(Vec<u8>, Option<Vec<u8>>)> = elems
            .into_iter()
            .map(|e| {
                let k = match &a.by {
                    Some(p) => lookup_pattern(&mut ctx.srv.dbs[db], p, &e),
                    None => None,
                };
                (e, k)
            })
            .collect();
        if a.alpha {
            let mut v = keyed;
            v.sort_by(|x, y| {
                let c = match (&a.by, &x.1, &y.1) {
                    (None, _, _) => x.0.cmp(&y.0),
                    (Some(_), Some(p), Some(q)) => p.cmp(q),
                    (Some(_), None, Some(_)) => Ordering::Less,
                    (Some(_), Some(_), None) => Ordering::Greater,
                    (Some(_), None, None) => Ordering::Equal,
                };
                if a.desc {
                    c.reverse()
                } else {
                    c
                }
            });
            elems = v.into_iter().map(|(e, _)| e).collect();
        } else {
            let mut scored = Vec::with_capacity(keyed.len());
            for (e, k) in keyed {
                let score = match (&a.by, k) {
                    (None, _) => numeric(&e),
                    (Some(_), Some(v)) => numeric(&v),
                    (Some(_), None) => Some(0.0),
                };
                let Some(score) = score else {
                    return ctx.error("ERR One or more scores can't be converted into double");
                };
                scored.push((e, score));
            }
            scored.sort_by(|x, y| {
                let c = x.1.partial_cmp(&y.1).unwrap_or(Ordering::Equal).then_with(|| x.0.cmp(&y.0));
                if a.desc {
                    c.reverse()
                } else {
                    c
                }
            });
            elems = scored.into_iter().map(|(e, _)| e).collect();
        }
    }
    // LIMIT with Redis's clamping, without overflow on huge values.
    let n = elems.len() as i64;
    let (start, end) = match a.limit {
        None => (0, n - 1),
        Some((off, count)) => {
            let start = off.max(0);
            let end = if count < 0 { n - 1 } else { start.saturating_add(count).saturating_sub(1) };
            if start >= n {
                (n, n - 1)
            } else {
                (start, end.min(n - 1))
            }
        }
    };
    let picked: Vec<Vec<u8>> =
        if start > end { Vec::new() } else { elems.drain(start as usize..=end as usize).collect() };
    let db = ctx.client.db;
    let rows: Vec<Option<Vec<u8>>> = if a.gets.is_empty() {
        picked.into_iter().map(Some).collect()
    } else {
        let mut rows = Vec::with_capacity(picked.len() * a.gets.len());
        for e in &picked {
            for g in &a.gets {
                rows.push(lookup_pattern(&mut ctx.srv.dbs[db], g, e));
            }
        }
        rows
    };
    match &a.store {
        None => {
            let out = ctx.out();
            out.array(rows.len());
            for r in &rows {
                match r {
                    Some(v) => out.bulk(v),
                    None => out.null(),
                }
            }
        }
        Some(dst) => {
            let n = rows.len();
            if n == 0 {
                if ctx.db().del(dst).is_some() {
                    ctx.dirty(1);
                    ctx.notify(class::GENERIC, "del", dst);
                }
            } else {
                let fill = ctx.srv.config.encoding.list_fill;
                let mut list = List::default();
                for r in &rows {
                    list.push_back(r.as_deref().unwrap_or(b""), fill);
                }
                ctx.db().set(dst, Obj::new(Value::List(Box::new(list))));
                ctx.dirty(n as u64);
                ctx.notify(class::LIST, "sortstore", dst);
            }
            ctx.out().int(n as i64);
        }
    }
}

fn sort(ctx: &mut Ctx, args: &[Bytes]) {
    sort_generic(ctx, args, false);
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) {
    sort_generic(ctx, args, true);
}
