//! List commands. The blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
//! BLMPOP) share their cores with LPOP/RPOP/LMOVE/LMPOP here.

use crate::executor::notify::class;
use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, keys, numkeys, CommandDef, Ctx};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::db::{Obj, Value};
use crate::executor::blocking::parse_timeout;
use crate::types::list::List;
use crate::util::{eq_ic, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const WHERE_ARG: Arg = oneof("where", &[pure_token("left", "LEFT"), pure_token("right", "RIGHT")]);
const WHERETO_ARG: Arg = oneof("whereto", &[pure_token("left", "LEFT"), pure_token("right", "RIGHT")]);
const WHEREFROM_ARG: Arg = oneof("wherefrom", &[pure_token("left", "LEFT"), pure_token("right", "RIGHT")]);

pub static COMMANDS: &[CommandDef] = &[
    cmd!("lpush", -3, WRITE | DENYOOM | FAST, acl::LIST, keys(1, 1, 1), lpush,
        "list", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Prepends one or more elements to a list. Creates the key if it doesn't exist.")
                                                                                                                                                                                                                      .with_args(&[
                                                                                                                                                                                                                          key("key", 0),
                                                                                                                                                                                                                          string("element").multiple(),
                                                                                                                                                                                                                      ])
                                                                                                                                                                                                                      .with_history(&[
                                                                                                                                                                                                                          ("2.4.0", "Accepts multiple `element` arguments."),
                                                                                                                                                                                                                      ])
    .with_key_specs(&[key_at(1, &["RW", "insert"])]),
    cmd!("rpush", -3, WRITE | DENYOOM | FAST, acl::LIST, keys(1, 1, 1), rpush,
        "list", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Appends one or more elements to a list. Creates the key if it doesn't exist.")
                                                                                                                                                                                                                     .with_args(&[
                                                                                                                                                                                                                         key("key", 0),
                                                                                                                                                                                                                         string("element").multiple(),
                                                                                                                                                                                                                     ])
                                                                                                                                                                                                                     .with_history(&[
                                                                                                                                                                                                                         ("2.4.0", "Accepts multiple `element` arguments."),
                                                                                                                                                                                                                     ])
    .with_key_specs(&[key_at(1, &["RW", "insert"])]),
    cmd!("lpushx", -3, WRITE | DENYOOM | FAST, acl::LIST, keys(1, 1, 1), lpushx,
        "list", "2.2.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Prepends one or more elements to a list only when the list exists.")
                                                                                                                                                                                                           .with_args(&[
                                                                                                                                                                                                               key("key", 0),
                                                                                                                                                                                                               string("element").multiple(),
                                                                                                                                                                                                           ])
                                                                                                                                                                                                           .with_history(&[
                                                                                                                                                                                                               ("4.0.0", "Accepts multiple `element` arguments."),
                                                                                                                                                                                                           ])
    .with_key_specs(&[key_at(1, &["RW", "insert"])]),
    cmd!("rpushx", -3, WRITE | DENYOOM | FAST, acl::LIST, keys(1, 1, 1), rpushx,
        "list", "2.2.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Appends an element to a list only when the list exists.")
                                                                                                                                                                                                .with_args(&[
                                                                                                                                                                                                    key("key", 0),
                                                                                                                                                                                                    string("element").multiple(),
                                                                                                                                                                                                ])
                                                                                                                                                                                                .with_history(&[
                                                                                                                                                                                                    ("4.0.0", "Accepts multiple `element` arguments."),
                                                                                                                                                                                                ])
    .with_key_specs(&[key_at(1, &["RW", "insert"])]),
    cmd!("lpop", -2, WRITE | FAST, acl::LIST, keys(1, 1, 1), lpop,
        "list", "1.0.0", "O(N) where N is the number of elements returned", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.")
                                                                                                                                                                                      .with_args(&[
                                                                                                                                                                                          key("key", 0),
                                                                                                                                                                                          integer("count").since("6.2.0").optional(),
                                                                                                                                                                                      ])
                                                                                                                                                                                      .with_history(&[
                                                                                                                                                                                          ("6.2.0", "Added the `count` argument."),
                                                                                                                                                                                      ])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"])]),
    cmd!("rpop", -2, WRITE | FAST, acl::LIST, keys(1, 1, 1), rpop,
        "list", "1.0.0", "O(N) where N is the number of elements returned", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.")
                                                                                                                                                                               .with_args(&[
                                                                                                                                                                                   key("key", 0),
                                                                                                                                                                                   integer("count").since("6.2.0").optional(),
                                                                                                                                                                               ])
                                                                                                                                                                               .with_history(&[
                                                                                                                                                                                   ("6.2.0", "Added the `count` argument."),
                                                                                                                                                                               ])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"])]),
    cmd!("llen", 2, READONLY | FAST, acl::LIST, keys(1, 1, 1), llen,
        "list", "1.0.0", "O(1)", "Returns the length of a list.")
                                                                .with_args(&[key("key", 0)])
    .with_key_specs(&[key_at(1, &["RO"])]),
    cmd!("lindex", 3, READONLY, acl::LIST, keys(1, 1, 1), lindex,
        "list", "1.0.0", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", "Returns an element from a list by its index.")
                                                                                                                                                                                                                                   .with_args(&[
                                                                                                                                                                                                                                       key("key", 0),
                                                                                                                                                                                                                                       integer("index"),
                                                                                                                                                                                                                                   ]),
    cmd!("lset", 4, WRITE | DENYOOM, acl::LIST, keys(1, 1, 1), lset,
        "list", "1.0.0", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", "Sets the value of an element in a list by its index.")
                                                                                                                                                                                            .with_args(&[
                                                                                                                                                                                                key("key", 0),
                                                                                                                                                                                                integer("index"),
                                                                                                                                                                                                string("element"),
                                                                                                                                                                                            ]),
    cmd!("lrange", 4, READONLY, acl::LIST, keys(1, 1, 1), lrange,
        "list", "1.0.0", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", "Returns a range of elements from a list.")
                                                                                                                                                                                                                                                         .with_args(&[
                                                                                                                                                                                                                                                             key("key", 0),
                                                                                                                                                                                                                                                             integer("start"),
                                                                                                                                                                                                                                                             integer("stop"),
                                                                                                                                                                                                                                                         ]),
    cmd!("ltrim", 4, WRITE, acl::LIST, keys(1, 1, 1), ltrim,
        "list", "1.0.0", "O(N) where N is the number of elements to be removed by the operation.", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.")
                                                                                                                                                                                           .with_args(&[
                                                                                                                                                                                               key("key", 0),
                                                                                                                                                                                               integer("start"),
                                                                                                                                                                                               integer("stop"),
                                                                                                                                                                                           ])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!("lrem", 4, WRITE, acl::LIST, keys(1, 1, 1), lrem,
        "list", "1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", "Removes elements from a list. Deletes the list if the last element was removed.")
                                                                                                                                                                                               .with_args(&[
                                                                                                                                                                                                   key("key", 0),
                                                                                                                                                                                                   integer("count"),
                                                                                                                                                                                                   string("element"),
                                                                                                                                                                                               ])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!("linsert", 5, WRITE | DENYOOM, acl::LIST, keys(1, 1, 1), linsert,
        "list", "2.2.0", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", "Inserts an element before or after another element in a list.")
                                                                                                                                                                                                                                                                                                                                    .with_args(&[
                                                                                                                                                                                                                                                                                                                                        key("key", 0),
                                                                                                                                                                                                                                                                                                                                        oneof("where", &[
                                                                                                                                                                                                                                                                                                                                            pure_token("before", "BEFORE"),
                                                                                                                                                                                                                                                                                                                                            pure_token("after", "AFTER"),
                                                                                                                                                                                                                                                                                                                                        ]),
                                                                                                                                                                                                                                                                                                                                        string("pivot"),
                                                                                                                                                                                                                                                                                                                                        string("element"),
                                                                                                                                                                                                                                                                                                                                    ])
    .with_key_specs(&[key_at(1, &["RW", "insert"])]),
    cmd!("lpos", -3, READONLY, acl::LIST, keys(1, 1, 1), lpos,
        "list", "6.0.6", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", "Returns the index of matching elements in a list.")
                                                                                                                                                                                                                                                                                                         .with_args(&[
                                                                                                                                                                                                                                                                                                             key("key", 0),
                                                                                                                                                                                                                                                                                                             string("element"),
                                                                                                                                                                                                                                                                                                             integer("rank").token("RANK").optional(),
                                                                                                                                                                                                                                                                                                             integer("num-matches").token("COUNT").optional(),
                                                                                                                                                                                                                                                                                                             integer("len").token("MAXLEN").optional(),
                                                                                                                                                                                                                                                                                                         ]),
    cmd!("lmove", 5, WRITE | DENYOOM, acl::LIST, keys(1, 2, 1), lmove,
        "list", "6.2.0", "O(1)", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.")
                                                                                                                                                               .with_args(&[
                                                                                                                                                                   key("source", 0),
                                                                                                                                                                   key("destination", 1),
                                                                                                                                                                   WHEREFROM_ARG,
                                                                                                                                                                   WHERETO_ARG,
                                                                                                                                                               ])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["RW", "insert"])]),
    cmd!("rpoplpush", 3, WRITE | DENYOOM, acl::LIST, keys(1, 2, 1), rpoplpush,
        "list", "1.2.0", "O(1)", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.")
                                                                                                                                                                     .with_args(&[
                                                                                                                                                                         key("source", 0),
                                                                                                                                                                         key("destination", 1),
                                                                                                                                                                     ])
                                                                                                                                                                     .deprecated(
                                                                                                                                                                         "6.2.0",
                                                                                                                                                                         "`LMOVE` with the `RIGHT` and `LEFT` arguments",
                                                                                                                                                                     )
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["RW", "insert"])]),
    cmd!("lmpop", -4, WRITE | MOVABLEKEYS, acl::LIST, numkeys(0, 0, 1), lmpop,
        "list", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.")
                                                                                                                                                                                                                                 .with_args(&[
                                                                                                                                                                                                                                     integer("numkeys"),
                                                                                                                                                                                                                                     key("key", 0).multiple(),
                                                                                                                                                                                                                                     WHERE_ARG,
                                                                                                                                                                                                                                     integer("count").token("COUNT").optional(),
                                                                                                                                                                                                                                 ])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(1), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
    cmd!("blpop", -3, WRITE | NOSCRIPT | BLOCKING, acl::LIST, keys(1, -2, 1), blpop,
        "list", "2.0.0", "O(N) where N is the number of provided keys.", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
                                                                                                                                                                                                                            .with_args(&[
                                                                                                                                                                                                                                key("key", 0).multiple(),
                                                                                                                                                                                                                                double("timeout"),
                                                                                                                                                                                                                            ])
                                                                                                                                                                                                                            .with_history(&[
                                                                                                                                                                                                                                ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
                                                                                                                                                                                                                            ])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(1), FindKeys::Range { lastkey: -2, step: 1, limit: 0 })]),
    cmd!("brpop", -3, WRITE | NOSCRIPT | BLOCKING, acl::LIST, keys(1, -2, 1), brpop,
        "list", "2.0.0", "O(N) where N is the number of provided keys.", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
                                                                                                                                                                                                                           .with_args(&[
                                                                                                                                                                                                                               key("key", 0).multiple(),
                                                                                                                                                                                                                               double("timeout"),
                                                                                                                                                                                                                           ])
                                                                                                                                                                                                                           .with_history(&[
                                                                                                                                                                                                                               ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
                                                                                                                                                                                                                           ])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(1), FindKeys::Range { lastkey: -2, step: 1, limit: 0 })]),
    cmd!("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, acl::LIST, keys(1, 2, 1), blmove,
        "list", "6.2.0", "O(1)", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.")
                                                                                                                                                                                                         .with_args(&[
                                                                                                                                                                                                             key("source", 0),
                                                                                                                                                                                                             key("destination", 1),
                                                                                                                                                                                                             WHEREFROM_ARG,
                                                                                                                                                                                                             WHERETO_ARG,
                                                                                                                                                                                                             double("timeout"),
                                                                                                                                                                                                         ])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["RW", "insert"])]),
    cmd!("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, acl::LIST, keys(1, 2, 1), brpoplpush,
        "list", "2.2.0", "O(1)", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.")
                                                                                                                                                                                                         .with_args(&[
                                                                                                                                                                                                             key("source", 0),
                                                                                                                                                                                                             key("destination", 1),
                                                                                                                                                                                                             double("timeout"),
                                                                                                                                                                                                         ])
                                                                                                                                                                                                         .with_history(&[
                                                                                                                                                                                                             ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
                                                                                                                                                                                                         ])
                                                                                                                                                                                                         .deprecated(
                                                                                                                                                                                                             "6.2.0",
                                                                                                                                                                                                             "`BLMOVE` with the `RIGHT` and `LEFT` arguments",
                                                                                                                                                                                                         )
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["RW", "insert"])]),
    cmd!("blmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, acl::LIST, numkeys(0, 0, 2), blmpop,
        "list", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
                                                                                                                                                                                                                                                                         .with_args(&[
                                                                                                                                                                                                                                                                             double("timeout"),
                                                                                                                                                                                                                                                                             integer("numkeys"),
                                                                                                                                                                                                                                                                             key("key", 0).multiple(),
                                                                                                                                                                                                                                                                             WHERE_ARG,
                                                                                                                                                                                                                                                                             integer("count").token("COUNT").optional(),
                                                                                                                                                                                                                                                                         ])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(2), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
];

/// The list at `key`: Ok(None) if missing, Err(()) after replying WRONGTYPE.
fn list_mut<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut List>, ()> {
    let db = ctx.client.db;
    match ctx.srv.dbs[db].get_mut(key) {
        None => Ok(None),
        Some(Obj { val: Value::List(l), .. }) => Ok(Some(l)),
        Some(_) => {
            ctx.client.out.error("WRONGTYPE Operation against a key holding the wrong kind of value");
            Err(())
        }
    }
}

fn list_ref<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a List>, ()> {
    list_mut(ctx, key).map(|l| l.map(|l| &*l))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

fn parse_end(a: &[u8]) -> Option<End> {
    if eq_ic(a, "left") {
        Some(End::Left)
    } else if eq_ic(a, "right") {
        Some(End::Right)
    } else {
        None
    }
}

fn push(ctx: &mut Ctx, args: &[Bytes], end: End, only_existing: bool) {
    let f = ctx.srv.config.encoding.list_fill;
    let key = &args[1];
    let db = ctx.client.db;
    let exists = match list_mut(ctx, key) {
        Err(()) => return,
        Ok(l) => l.is_some(),
    };
    if !exists {
        if only_existing {
            return ctx.out().int(0);
        }
        ctx.srv.dbs[db].set(key, Obj::new(Value::List(Box::default())));
    }
    let Ok(Some(list)) = list_mut(ctx, key) else { return };
    for v in &args[2..] {
        match end {
            End::Left => list.push_front(v, f),
            End::Right => list.push_back(v, f),
        }
    }
    let len = list.len();
    ctx.dirty(args.len() as u64 - 2);
    ctx.notify(class::LIST, push_event(end), key);
    ctx.out().int(len as i64);
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Left, false);
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Right, false);
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Left, true);
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Right, true);
}

fn push_event(end: End) -> &'static str {
    if end == End::Left {
        "lpush"
    } else {
        "rpush"
    }
}

fn pop_event(end: End) -> &'static str {
    if end == End::Left {
        "lpop"
    } else {
        "rpop"
    }
}

/// Pops up to `count` elements from one end of the list at `key`, deleting
/// the key when it empties, with Redis's keyspace events (`lpop`/`rpop`,
/// then `del`). None if the key is missing.
pub fn pop_elements(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Option<Vec<Vec<u8>>> {
    let items = take_elements(ctx, key, end, count)?;
    ctx.notify(class::LIST, pop_event(end), key);
    let db = ctx.client.db;
    if !ctx.srv.dbs[db].contains(key) {
        ctx.notify(class::GENERIC, "del", key);
    }
    Some(items)
}

/// `pop_elements` without the events.
fn take_elements(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Option<Vec<Vec<u8>>> {
    let f = ctx.srv.config.encoding.list_fill;
    let db = ctx.client.db;
    let Some(Obj { val: Value::List(list), .. }) = ctx.srv.dbs[db].get_mut(key) else { return None };
    let n = count.min(list.len());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let v = match end {
            End::Left => list.pop_front(f),
            End::Right => list.pop_back(f),
        };
        out.extend(v);
    }
    if list.is_empty() {
        ctx.srv.dbs[db].del(key);
    }
    ctx.dirty(out.len() as u64);
    Some(out)
}

fn pop(ctx: &mut Ctx, args: &[Bytes], end: End) {
    if args.len() > 3 {
        let name = ctx.cmd.name;
        return ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error("ERR value is out of range, must be positive"),
        },
    };
    match list_ref(ctx, &args[1]) {
        Err(()) => return,
        Ok(None) => {
            return if count.is_some() { ctx.out().null_array() } else { ctx.out().null() };
        }
        Ok(Some(_)) => {}
    }
    if count == Some(0) {
        return ctx.out().array(0);
    }
    let items = pop_elements(ctx, &args[1], end, count.unwrap_or(1)).unwrap_or_default();
    let out = ctx.out();
    match count {
        None => match items.first() {
            Some(v) => out.bulk(v),
            None => out.null(),
        },
        Some(_) => {
            out.array(items.len());
            for v in &items {
                out.bulk(v);
            }
        }
    }
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop(ctx, args, End::Left);
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop(ctx, args, End::Right);
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) {
    if let Ok(l) = list_ref(ctx, &args[1]) {
        let n = l.map_or(0, |l| l.len());
        ctx.out().int(n as i64);
    }
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(index) = parse_i64(&args[2]) else { return ctx.not_integer() };
    let v = match list_ref(ctx, &args[1]) {
        Err(()) => return,
        Ok(None) => None,
        Ok(Some(l)) => l.get(index),
    };
    match v {
        Some(v) => ctx.out().bulk(&v),
        None => ctx.out().null(),
    }
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(index) = parse_i64(&args[2]) else { return ctx.not_integer() };
    let f = ctx.srv.config.encoding.list_fill;
    match list_mut(ctx, &args[1]) {
        Err(()) => {}
        Ok(None) => ctx.error("ERR no such key"),
        Ok(Some(l)) => {
            if l.set(index, &args[3], f) {
                ctx.dirty(1);
                ctx.notify(class::LIST, "lset", &args[1]);
                ctx.ok();
            } else {
                ctx.error("ERR index out of range");
            }
        }
    }
}

/// Clamps Redis-style start/stop indexes to 0-based inclusive bounds;
/// None for an empty range.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(start), Some(stop)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return ctx.not_integer();
    };
    let db = ctx.client.db;
    let out = &mut ctx.client.out;
    match ctx.srv.dbs[db].get(&args[1]) {
        None => out.array(0),
        Some(Obj { val: Value::List(l), .. }) => match clamp_range(start, stop, l.len()) {
            None => out.array(0),
            Some((a, b)) => {
                out.array(b - a + 1);
                l.for_range(a, b, |e| match e {
                    crate::types::listpack::Entry::Str(s) => out.bulk(s),
                    crate::types::listpack::Entry::Int(i) => out.bulk_i64(i),
                });
            }
        },
        Some(_) => ctx.wrongtype(),
    }
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(start), Some(stop)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return ctx.not_integer();
    };
    let f = ctx.srv.config.encoding.list_fill;
    let db = ctx.client.db;
    let existed = match list_ref(ctx, &args[1]) {
        Err(()) => return,
        Ok(l) => l.is_some(),
    };
    let removed = match list_mut(ctx, &args[1]) {
        Err(()) => return,
        Ok(None) => 0,
        Ok(Some(l)) => {
            let before = l.len();
            match clamp_range(start, stop, before) {
                Some((a, b)) => l.trim(a, b, f),
                None => l.trim(1, 0, f),
            }
            let removed = before - l.len();
            if l.is_empty() {
                ctx.srv.dbs[db].del(&args[1]);
            }
            removed
        }
    };
    ctx.dirty(removed as u64);
    if existed {
        ctx.notify(class::LIST, "ltrim", &args[1]);
        if !ctx.srv.dbs[db].contains(&args[1]) {
            ctx.notify(class::GENERIC, "del", &args[1]);
        }
    }
    ctx.ok();
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(count) = parse_i64(&args[2]) else { return ctx.not_integer() };
    let f = ctx.srv.config.encoding.list_fill;
    let db = ctx.client.db;
    let removed = match list_mut(ctx, &args[1]) {
        Err(()) => return,
        Ok(None) => 0,
        Ok(Some(l)) => {
            let n = l.remove_matching(&args[3], count, f);
            if l.is_empty() {
                ctx.srv.dbs[db].del(&args[1]);
            }
            n
        }
    };
    ctx.dirty(removed as u64);
    if removed > 0 {
        ctx.notify(class::LIST, "lrem", &args[1]);
        if !ctx.srv.dbs[db].contains(&args[1]) {
            ctx.notify(class::GENERIC, "del", &args[1]);
        }
    }
    ctx.out().int(removed as i64);
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) {
    let after = if eq_ic(&args[2], "after") {
        true
    } else if eq_ic(&args[2], "before") {
        false
    } else {
        return ctx.syntax_error();
    };
    let f = ctx.srv.config.encoding.list_fill;
    let reply = match list_mut(ctx, &args[1]) {
        Err(()) => return,
        Ok(None) => 0,
        Ok(Some(l)) => {
            if l.insert_at_pivot(&args[3], &args[4], after, f) {
                l.len() as i64
            } else {
                -1
            }
        }
    };
    if reply > 0 {
        ctx.dirty(1);
        ctx.notify(class::LIST, "linsert", &args[1]);
    }
    ctx.out().int(reply);
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else { return ctx.syntax_error() };
        if eq_ic(&args[i], "rank") {
            let Some(r) = parse_i64(v) else { return ctx.not_integer() };
            if r == 0 {
                return ctx.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            if r == i64::MIN {
                return ctx.error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                );
            }
            rank = r;
        } else if eq_ic(&args[i], "count") {
            let Some(c) = parse_i64(v) else { return ctx.not_integer() };
            if c < 0 {
                return ctx.error("ERR COUNT can't be negative");
            }
            count = Some(c);
        } else if eq_ic(&args[i], "maxlen") {
            let Some(m) = parse_i64(v) else { return ctx.not_integer() };
            if m < 0 {
                return ctx.error("ERR MAXLEN can't be negative");
            }
            maxlen = m;
        } else {
            return ctx.syntax_error();
        }
        i += 2;
    }
    let matches: Vec<i64> = match list_ref(ctx, &args[1]) {
        Err(()) => return,
        Ok(None) => Vec::new(),
        Ok(Some(l)) => {
            let want = match count {
                Some(0) => usize::MAX,
                Some(c) => c as usize,
                None => 1,
            };
            let len = l.len();
            let items: Vec<_> = l.iter().collect();
            let order: Box<dyn Iterator<Item = usize>> =
                if rank > 0 { Box::new(0..len) } else { Box::new((0..len).rev()) };
            let mut skip = rank.unsigned_abs() - 1;
            let mut found = Vec::new();
            for (scanned, idx) in order.enumerate() {
                if maxlen > 0 && scanned as i64 >= maxlen {
                    break;
                }
                if items[idx].eq_bytes(&args[2]) {
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    found.push(idx as i64);
                    if found.len() >= want {
                        break;
                    }
                }
            }
            found
        }
    };
    let out = ctx.out();
    match count {
        Some(_) => {
            out.array(matches.len());
            for m in matches {
                out.int(m);
            }
        }
        None => match matches.first() {
            Some(&m) => out.int(m),
            None => out.null(),
        },
    }
}

/// Moves one element from `src` to `dst`; replies with it, or nil when
/// `src` is missing. Shared by LMOVE, RPOPLPUSH and their blocking forms.
pub fn move_element(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    match list_ref(ctx, src) {
        Err(()) => return,
        Ok(None) => return ctx.out().null(),
        Ok(Some(_)) => {}
    }
    if list_ref(ctx, dst).is_err() {
        return;
    }
    // Events as Redis: the push on `dst`, then the pop on `src`, then its
    // deletion if it emptied.
    let Some(v) = take_elements(ctx, src, from, 1).and_then(|mut v| v.pop()) else {
        return ctx.out().null();
    };
    let f = ctx.srv.config.encoding.list_fill;
    let db = ctx.client.db;
    if !ctx.srv.dbs[db].contains(dst) {
        ctx.srv.dbs[db].set(dst, Obj::new(Value::List(Box::default())));
    }
    if let Ok(Some(l)) = list_mut(ctx, dst) {
        match to {
            End::Left => l.push_front(&v, f),
            End::Right => l.push_back(&v, f),
        }
    }
    ctx.dirty(1);
    ctx.notify(class::LIST, push_event(to), dst);
    ctx.notify(class::LIST, pop_event(from), src);
    if !ctx.srv.dbs[db].contains(src) {
        ctx.notify(class::GENERIC, "del", src);
    }
    ctx.out().bulk(&v);
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(from), Some(to)) = (parse_end(&args[3]), parse_end(&args[4])) else {
        return ctx.syntax_error();
    };
    move_element(ctx, &args[1], &args[2], from, to);
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    move_element(ctx, &args[1], &args[2], End::Right, End::Left);
}

/// Parsed `numkeys key... LEFT|RIGHT [COUNT n]` of LMPOP (args start at
/// `at`, the numkeys position).
pub struct MpopArgs {
    pub keys: std::ops::Range<usize>,
    pub end: End,
    pub count: usize,
}

pub fn parse_mpop(ctx: &mut Ctx, args: &[Bytes], at: usize) -> Option<MpopArgs> {
    let numkeys = match parse_i64(&args[at]) {
        Some(n) if n > 0 => n as usize,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let first = at + 1;
    if numkeys > args.len() - first {
        ctx.syntax_error();
        return None;
    }
    let mut i = first + numkeys;
    let Some(end) = args.get(i).and_then(|a| parse_end(a)) else {
        ctx.syntax_error();
        return None;
    };
    i += 1;
    let mut count = None;
    while i < args.len() {
        if eq_ic(&args[i], "count") && count.is_none() && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                Some(c) if c > 0 => count = Some(c as usize),
                _ => {
                    ctx.error("ERR count should be greater than 0");
                    return None;
                }
            }
            i += 2;
        } else {
            ctx.syntax_error();
            return None;
        }
    }
    Some(MpopArgs { keys: first..first + numkeys, end, count: count.unwrap_or(1) })
}

/// Pops from the first non-empty list among `keys`, replying
/// `[key, [elements]]`; false (and no reply) when all are empty.
pub fn mpop_first(ctx: &mut Ctx, args: &[Bytes], p: &MpopArgs) -> bool {
    for k in p.keys.clone() {
        match list_ref(ctx, &args[k]) {
            Err(()) => return true,
            Ok(None) => continue,
            Ok(Some(_)) => {}
        }
        let items = pop_elements(ctx, &args[k], p.end, p.count).unwrap_or_default();
        let side = if p.end == End::Left { &b"LPOP"[..] } else { b"RPOP" };
        ctx.propagate(vec![Bytes::copy_from_slice(side), args[k].clone(), Bytes::from(items.len().to_string())]);
        let out = ctx.out();
        out.array(2);
        out.bulk(&args[k]);
        out.array(items.len());
        for v in &items {
            out.bulk(v);
        }
        return true;
    }
    false
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(p) = parse_mpop(ctx, args, 1) else { return };
    if !mpop_first(ctx, args, &p) {
        ctx.out().null_array();
    }
}

/// BLPOP/BRPOP: pops from the first non-empty list in argument order, or
/// waits for one.
fn blocking_pop(ctx: &mut Ctx, args: &[Bytes], end: End) {
    let Some(deadline) = parse_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    for key in keys {
        match list_ref(ctx, key) {
            Err(()) => return,
            Ok(None) => continue,
            Ok(Some(_)) => {}
        }
        let Some(v) = pop_elements(ctx, key, end, 1).and_then(|mut v| v.pop()) else { continue };
        let name = if end == End::Left { &b"LPOP"[..] } else { b"RPOP" };
        ctx.propagate(vec![Bytes::from_static(name), key.clone()]);
        let out = ctx.out();
        out.array(2);
        out.bulk(key);
        out.bulk(&v);
        return;
    }
    if !ctx.can_block() {
        return ctx.out().null_array();
    }
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    ctx.block(args, &keys, deadline);
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) {
    blocking_pop(ctx, args, End::Left);
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) {
    blocking_pop(ctx, args, End::Right);
}

/// BLMOVE/BRPOPLPUSH: moves at once when `src` has elements, else waits
/// on it. Served, it propagates as the non-blocking form `as_cmd`.
fn blocking_move(ctx: &mut Ctx, args: &[Bytes], from: End, to: End, timeout: &[u8], as_cmd: Vec<Bytes>) {
    let Some(deadline) = parse_timeout(ctx, timeout) else { return };
    let exists = match list_ref(ctx, &args[1]) {
        Err(()) => return,
        Ok(l) => l.is_some(),
    };
    if exists {
        ctx.propagate(as_cmd);
        move_element(ctx, &args[1], &args[2], from, to);
    } else if !ctx.can_block() {
        ctx.out().null();
    } else {
        ctx.block(args, &[&args[1]], deadline);
    }
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(from), Some(to)) = (parse_end(&args[3]), parse_end(&args[4])) else {
        return ctx.syntax_error();
    };
    let as_cmd = vec![Bytes::from_static(b"LMOVE"), args[1].clone(), args[2].clone(), args[3].clone(), args[4].clone()];
    blocking_move(ctx, args, from, to, &args[5], as_cmd);
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    let as_cmd = vec![Bytes::from_static(b"RPOPLPUSH"), args[1].clone(), args[2].clone()];
    blocking_move(ctx, args, End::Right, End::Left, &args[3], as_cmd);
}

fn blmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(deadline) = parse_timeout(ctx, &args[1]) else { return };
    let Some(p) = parse_mpop(ctx, args, 2) else { return };
    if mpop_first(ctx, args, &p) {
        return;
    }
    if !ctx.can_block() {
        return ctx.out().null_array();
    }
    let keys: Vec<&[u8]> = p.keys.clone().map(|k| &args[k][..]).collect();
    ctx.block(args, &keys, deadline);
}
