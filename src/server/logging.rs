//! Logging through `tracing`, in redis-server's line format
//! (`pid:M 01 Jan 2024 12:00:00.000 * message`), honouring `loglevel`
//! (also when changed by CONFIG SET) and `logfile` (empty = stdout).
//!
//! Redis's levels map onto tracing's: `debug` = TRACE, `verbose` = DEBUG,
//! `notice` = INFO, `warning` = WARN and ERROR; `nothing` logs nothing. So
//! code logs notices with `tracing::info!` and warnings with `tracing::warn!`.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::Config;

/// The least severe level logged: 0 debug, 1 verbose, 2 notice, 3 warning,
/// 4 nothing.
static VERBOSITY: AtomicU8 = AtomicU8::new(2);

/// Applies a `loglevel` value; takes effect for the next line logged.
pub fn set_verbosity(loglevel: &str) {
    let v = match loglevel {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        "warning" => 3,
        _ => 4,
    };
    VERBOSITY.store(v, Ordering::Relaxed);
}

fn rank(level: &Level) -> u8 {
    if *level == Level::TRACE {
        0
    } else if *level == Level::DEBUG {
        1
    } else if *level == Level::INFO {
        2
    } else {
        3
    }
}

/// Redis's level marks: `.` debug, `-` verbose, `*` notice, `#` warning.
fn mark(level: &Level) -> char {
    ['.', '-', '*', '#'][rank(level) as usize]
}

/// Starts logging as configured. Only oxkey's own events are logged.
pub fn init(config: &Config) {
    set_verbosity(&config.loglevel);
    let target = if config.logfile.is_empty() { Target::Stdout } else { Target::File(config.logfile.as_str().into()) };
    let layer = tracing_subscriber::fmt::layer().event_format(RedisFormat).with_writer(target).with_filter(Verbosity);
    // Fails only when a subscriber is already installed (tests).
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Lets oxkey's events through at the current verbosity, decided for each
/// event (not cached per call site) so that CONFIG SET loglevel applies.
struct Verbosity;

impl<S> Filter<S> for Verbosity {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        meta.target().starts_with("oxkey") && rank(meta.level()) >= VERBOSITY.load(Ordering::Relaxed)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.target().starts_with("oxkey") {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

/// A line logged before logging is set up (while reading the
/// configuration), to stdout as redis-server does.
pub fn early(level: Level, message: &str) {
    println!("{}:C {} {} {message}", std::process::id(), timestamp(), mark(&level));
}

/// Where lines go. A log file is opened for each line, in append mode, so
/// that it can be rotated under a running server as with Redis.
#[derive(Clone)]
enum Target {
    Stdout,
    File(Arc<str>),
}

impl<'a> MakeWriter<'a> for Target {
    type Writer = Box<dyn std::io::Write>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            Target::Stdout => Box::new(std::io::stdout()),
            Target::File(path) => match std::fs::OpenOptions::new().create(true).append(true).open(&**path) {
                Ok(f) => Box::new(f),
                Err(_) => Box::new(std::io::sink()),
            },
        }
    }
}

struct RedisFormat;

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let level = event.metadata().level();
        write!(writer, "{}:M {} {} ", std::process::id(), timestamp(), mark(level))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Local time as Redis prints it: `01 Jan 2024 12:00:00.123`.
fn timestamp() -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let t = local_time(now.as_secs() as i64);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        t.mday,
        MONTHS[t.mon.min(11)],
        t.year,
        t.hour,
        t.min,
        t.sec,
        now.subsec_millis()
    )
}

struct Civil {
    year: i64,
    mon: usize,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
}

/// Splits a Unix time into local calendar fields with the C library's
/// `localtime_r` (UTC if that fails).
fn local_time(secs: i64) -> Civil {
    #[repr(C)]
    struct Tm {
        sec: i32,
        min: i32,
        hour: i32,
        mday: i32,
        mon: i32,
        year: i32,
        wday: i32,
        yday: i32,
        isdst: i32,
        gmtoff: std::ffi::c_long,
        zone: *const std::ffi::c_char,
        // Room for fields some C libraries add.
        _spare: [u64; 4],
    }
    extern "C" {
        fn localtime_r(t: *const std::ffi::c_long, out: *mut Tm) -> *mut Tm;
    }
    let t = secs as std::ffi::c_long;
    let mut tm = Tm {
        sec: 0,
        min: 0,
        hour: 0,
        mday: 0,
        mon: 0,
        year: 0,
        wday: 0,
        yday: 0,
        isdst: 0,
        gmtoff: 0,
        zone: std::ptr::null(),
        _spare: [0; 4],
    };
    // SAFETY: both pointers are valid for the call; `Tm` is at least as
    // large as the C library's `struct tm`.
    let ok = unsafe { !localtime_r(&t, &mut tm).is_null() };
    if ok {
        return Civil {
            year: tm.year as i64 + 1900,
            mon: tm.mon.max(0) as usize,
            mday: tm.mday as i64,
            hour: tm.hour as i64,
            min: tm.min as i64,
            sec: tm.sec as i64,
        };
    }
    // Days to civil date (Howard Hinnant's algorithm), in UTC.
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let mday = doy - (153 * mp + 2) / 5 + 1;
    let mon = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(mon <= 2);
    Civil { year, mon: (mon - 1) as usize, mday, hour: rem / 3600, min: rem % 3600 / 60, sec: rem % 60 }
}
