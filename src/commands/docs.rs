//! What COMMAND DOCS tells beyond a command's summary line: its argument
//! tree (Redis's `arguments`, which `redis-cli` turns into hints), its
//! history and its deprecation. Family files describe their commands with
//! the constructors below, e.g.
//! `oneof("condition", &[pure_token("nx", "NX"), pure_token("xx", "XX")]).optional()`.

/// Redis's argument types, by their reply names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    Oneof,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::Oneof => "oneof",
            ArgType::Block => "block",
        }
    }

    /// Oneof and block arguments hold others and have no display text.
    pub fn is_container(self) -> bool {
        matches!(self, ArgType::Oneof | ArgType::Block)
    }
}

pub const OPTIONAL: u8 = 1;
pub const MULTIPLE: u8 = 2;
pub const MULTIPLE_TOKEN: u8 = 4;

/// Argument flags with their reply names, in Redis's order.
pub const ARG_FLAG_NAMES: [(u8, &str); 3] =
    [(OPTIONAL, "optional"), (MULTIPLE, "multiple"), (MULTIPLE_TOKEN, "multiple_token")];

/// One argument of a command, as COMMAND DOCS describes it. Empty strings
/// stand for fields the reply leaves out.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
    /// Index of the key spec the argument is found by (-1: none).
    pub key_spec_index: i32,
    pub token: &'static str,
    /// Shown instead of the name (`ip:port`); the name when empty.
    pub display: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub deprecated_since: &'static str,
    pub flags: u8,
    /// The alternatives of a oneof, the parts of a block.
    pub args: &'static [Arg],
}

const fn arg(name: &'static str, kind: ArgType) -> Arg {
    Arg {
        name,
        kind,
        key_spec_index: -1,
        token: "",
        display: "",
        summary: "",
        since: "",
        deprecated_since: "",
        flags: 0,
        args: &[],
    }
}

pub const fn string(name: &'static str) -> Arg {
    arg(name, ArgType::String)
}

pub const fn integer(name: &'static str) -> Arg {
    arg(name, ArgType::Integer)
}

pub const fn double(name: &'static str) -> Arg {
    arg(name, ArgType::Double)
}

pub const fn pattern(name: &'static str) -> Arg {
    arg(name, ArgType::Pattern)
}

pub const fn unix_time(name: &'static str) -> Arg {
    arg(name, ArgType::UnixTime)
}

/// A key argument found by the key spec at `spec`.
pub const fn key(name: &'static str, spec: i32) -> Arg {
    arg(name, ArgType::Key).key_spec(spec)
}

/// A keyword standing alone (`NX`).
pub const fn pure_token(name: &'static str, token: &'static str) -> Arg {
    arg(name, ArgType::PureToken).token(token)
}

pub const fn oneof(name: &'static str, args: &'static [Arg]) -> Arg {
    let mut a = arg(name, ArgType::Oneof);
    a.args = args;
    a
}

pub const fn block(name: &'static str, args: &'static [Arg]) -> Arg {
    let mut a = arg(name, ArgType::Block);
    a.args = args;
    a
}

impl Arg {
    pub const fn key_spec(mut self, index: i32) -> Self {
        self.key_spec_index = index;
        self
    }

    /// The keyword that comes before the value (`EX seconds`).
    pub const fn token(mut self, token: &'static str) -> Self {
        self.token = token;
        self
    }

    pub const fn display(mut self, text: &'static str) -> Self {
        self.display = text;
        self
    }

    pub const fn summary(mut self, text: &'static str) -> Self {
        self.summary = text;
        self
    }

    pub const fn since(mut self, version: &'static str) -> Self {
        self.since = version;
        self
    }

    pub const fn deprecated_since(mut self, version: &'static str) -> Self {
        self.deprecated_since = version;
        self
    }

    pub const fn optional(mut self) -> Self {
        self.flags |= OPTIONAL;
        self
    }

    pub const fn multiple(mut self) -> Self {
        self.flags |= MULTIPLE;
        self
    }

    /// Repeated with its token each time (`GET p1 GET p2`).
    pub const fn multiple_token(mut self) -> Self {
        self.flags |= MULTIPLE_TOKEN;
        self
    }

    /// The display text of a non-container argument.
    pub fn display_text(&self) -> Option<&'static str> {
        if self.kind.is_container() {
            None
        } else if self.display.is_empty() {
            Some(self.name)
        } else {
            Some(self.display)
        }
    }
}

/// A command's COMMAND DOCS fields beyond summary, since, group and
/// complexity.
#[derive(Clone, Copy, Debug)]
pub struct Docs {
    pub args: &'static [Arg],
    /// (version, what changed), oldest first.
    pub history: &'static [(&'static str, &'static str)],
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
    /// An internal command (Redis's `syscmd` doc flag).
    pub syscmd: bool,
}

pub const NO_DOCS: Docs = Docs { args: &[], history: &[], deprecated_since: "", replaced_by: "", syscmd: false };
