//! Redis's geohash: positions as 52-bit interleaved cells (26 bits of
//! latitude, 26 of longitude) used as sorted-set scores, the cells around a
//! search area, and the distances the GEO commands measure. A port of
//! geohash.c and geohash_helper.c, keeping their floating-point operations in
//! the same order so that every cell, distance and coordinate is the one
//! Redis computes.

/// The Web Mercator limits Redis indexes within (EPSG:900913).
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// Bits per coordinate of a stored position: 2 * 26 = 52 bits, exact in a
/// double's mantissa.
pub const STEP_MAX: u8 = 26;

/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;

const MERCATOR_MAX: f64 = 20037726.37;
/// 2^63, where doubles stop fitting in an i64.
const TWO_63: f64 = (1u64 << 63) as f64;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A cell: `step` bits per coordinate, interleaved in `bits` (longitude in
/// the odd positions, latitude in the even ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// A neighbour dropped from a search (Redis's GZERO / HASHISZERO).
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges scores are encoded in.
pub const WGS84_LONG: Range = Range { min: LONG_MIN, max: LONG_MAX };
pub const WGS84_LAT: Range = Range { min: LAT_MIN, max: LAT_MAX };
/// The ranges of the standard geohash alphabet strings (GEOHASH).
pub const STANDARD_LONG: Range = Range { min: -180.0, max: 180.0 };
pub const STANDARD_LAT: Range = Range { min: -90.0, max: 90.0 };

/// The rectangle a cell covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// Spreads the low 32 bits of `x` into the even bit positions and those of
/// `y` into the odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] =
        [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (x as u64, y as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of `interleave64`: even bits in the low half, odd bits in
/// the high half.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The cell of `step` bits per coordinate holding a position, or None when
/// the position is outside the indexable area or the ranges.
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max
    {
        return None;
    }
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    let scale = (1u64 << step) as f64;
    // Truncated to integers as C converts a double to uint32_t.
    Some(HashBits { bits: interleave64((lat_offset * scale) as u32, (long_offset * scale) as u32), step })
}

/// The rectangle covered by a cell (None for a dropped neighbour).
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    // `+ 1` wraps in 32 bits, as the unsigned arithmetic in C does.
    Some(Area {
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / cells) * lat_scale,
            max: lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / cells) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / cells) * long_scale,
            max: long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / cells) * long_scale,
        },
    })
}

/// The centre of a cell, kept within the indexable area.
fn area_center(area: &Area) -> (f64, f64) {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The 52-bit form of a cell, as stored in a score.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - hash.step as u32 * 2)
}

/// The score GEOADD stores for a position (already checked to be within
/// the indexable area).
pub fn encode_score(longitude: f64, latitude: f64) -> Option<u64> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, STEP_MAX).map(align52)
}

/// C's conversion of a double to uint64_t as x86-64 compilers emit it
/// (out-of-range values are undefined in C, so this is what Redis really
/// does with them): below 2^63 a signed conversion (negative values wrap,
/// below -2^63 it gives the "indefinite" 2^63), from 2^63 up a conversion
/// of x - 2^63 with the top bit flipped (2^64 and above end up 0).
fn c_double_to_u64(x: f64) -> u64 {
    let cvtt = |v: f64| if (-TWO_63..TWO_63).contains(&v) { v as i64 as u64 } else { 1 << 63 };
    if x < TWO_63 || x.is_nan() {
        cvtt(x)
    } else {
        cvtt(x - TWO_63) ^ (1 << 63)
    }
}

/// The position a score stands for (Redis's decodeGeohash): the centre of
/// its cell. Any score decodes, even one ZADD put there by hand.
pub fn decode_score(score: f64) -> (f64, f64) {
    let hash = HashBits { bits: c_double_to_u64(score), step: STEP_MAX };
    // A step of 26 is never the zero hash: decoding always succeeds.
    decode(WGS84_LONG, WGS84_LAT, hash).map_or((0.0, 0.0), |a| area_center(&a))
}

const GEO_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The 11-character standard geohash of a position (GEOHASH): re-encoded
/// over latitudes ±90, as standard geohashes are. Eleven characters take
/// 55 bits and Redis has 52: the last character is always '0'.
pub fn hash_string(longitude: f64, latitude: f64) -> [u8; 11] {
    let bits = encode(STANDARD_LONG, STANDARD_LAT, longitude, latitude, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = GEO_ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// The eight cells around one, wrapping around at the edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Neighbors {
    pub north: HashBits,
    pub south: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub north_east: HashBits,
    pub north_west: HashBits,
    pub south_east: HashBits,
    pub south_west: HashBits,
}

/// Moves a cell one step east (`d` > 0) or west (`d` < 0).
fn move_x(hash: HashBits, d: i8) -> HashBits {
    if d == 0 || hash.step == 0 {
        return hash;
    }
    let shift = 64 - hash.step as u32 * 2;
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> shift;
    HashBits { bits: x | y, step: hash.step }
}

/// Moves a cell one step north (`d` > 0) or south (`d` < 0).
fn move_y(hash: HashBits, d: i8) -> HashBits {
    if d == 0 || hash.step == 0 {
        return hash;
    }
    let shift = 64 - hash.step as u32 * 2;
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> shift;
    HashBits { bits: x | y, step: hash.step }
}

pub fn neighbors(hash: HashBits) -> Neighbors {
    let at = |dx, dy| move_y(move_x(hash, dx), dy);
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// The step whose cells are about the size of the search radius, coarser
/// towards the poles.
fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// Haversine great-circle distance in meters between two positions given
/// in degrees.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same longitude: the formula reduces to the latitude difference.
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// Distance along a meridian between two latitudes.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// A search area: a circle or an axis-aligned box around a centre, its
/// sizes in the unit the client gave, `to_meters` converting them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extent {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub longitude: f64,
    pub latitude: f64,
    pub extent: Extent,
    pub to_meters: f64,
}

/// The cells to scan for a search (Redis's GeoHashRadius flattened): the
/// centre cell and its neighbours in Redis's visiting order, the useless
/// ones zeroed.
pub type SearchCells = [HashBits; 9];

impl Shape {
    /// [min_lon, min_lat, max_lon, max_lat] around the shape; the edges
    /// nearer the pole are wider in degrees.
    fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = match self.extent {
            Extent::Radius(r) => (self.to_meters * r, self.to_meters * r),
            Extent::Box { width, height } => (self.to_meters * (height / 2.0), self.to_meters * (width / 2.0)),
        };
        let (longitude, latitude) = (self.longitude, self.latitude);
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 { long_delta_bottom } else { long_delta_top };
        [longitude - long_delta, latitude - lat_delta, longitude + long_delta, latitude + lat_delta]
    }

    /// The cells covering the shape (geohashCalculateAreasByShapeWGS84).
    pub fn cells(&self) -> SearchCells {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let (longitude, latitude) = (self.longitude, self.latitude);
        // A box is covered by the circle through its corners.
        let radius_meters = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
        } * self.to_meters;
        let mut steps = estimate_steps_by_radius(radius_meters, latitude);
        let around = |steps| {
            let hash = encode(WGS84_LONG, WGS84_LAT, longitude, latitude, steps).unwrap_or_default();
            (hash, neighbors(hash))
        };
        let (mut hash, mut nb) = around(steps);
        let area_of = |h| decode(WGS84_LONG, WGS84_LAT, h);
        // Near a cell's edge the estimated step may be too fine for one
        // neighbour to reach past the search area: go one step coarser.
        let decrease = area_of(nb.north).is_some_and(|a| a.latitude.max < max_lat)
            || area_of(nb.south).is_some_and(|a| a.latitude.min > min_lat)
            || area_of(nb.east).is_some_and(|a| a.longitude.max < max_lon)
            || area_of(nb.west).is_some_and(|a| a.longitude.min > min_lon);
        if steps > 1 && decrease {
            steps -= 1;
            (hash, nb) = around(steps);
        }
        // Drop the neighbours on the sides the search area does not reach.
        if steps >= 2 {
            if let Some(area) = area_of(hash) {
                let zero = HashBits::default();
                if area.latitude.min < min_lat {
                    (nb.south, nb.south_west, nb.south_east) = (zero, zero, zero);
                }
                if area.latitude.max > max_lat {
                    (nb.north, nb.north_east, nb.north_west) = (zero, zero, zero);
                }
                if area.longitude.min < min_lon {
                    (nb.west, nb.south_west, nb.north_west) = (zero, zero, zero);
                }
                if area.longitude.max > max_lon {
                    (nb.east, nb.south_east, nb.north_east) = (zero, zero, zero);
                }
            }
        }
        [hash, nb.north, nb.south, nb.east, nb.west, nb.north_east, nb.north_west, nb.south_east, nb.south_west]
    }

    /// The distance in meters from the centre to a position inside the
    /// shape, None when it is outside.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(self.longitude, self.latitude, lon, lat);
                (d <= r * self.to_meters).then_some(d)
            }
            Extent::Box { width, height } => {
                // The cheaper latitude test first, as Redis.
                if lat_distance(lat, self.latitude) > height * self.to_meters / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.longitude, lat) > width * self.to_meters / 2.0 {
                    return None;
                }
                Some(distance(self.longitude, self.latitude, lon, lat))
            }
        }
    }
}

/// The scores of the positions inside a cell: min included, max excluded.
pub fn cell_scores(hash: HashBits) -> (f64, f64) {
    let min = align52(hash);
    let max = align52(HashBits { bits: hash.bits.wrapping_add(1), step: hash.step });
    (min as f64, max as f64)
}

/// A distance with four decimals, as Redis 7.2's fixedpoint_d2string
/// prints it: the value times 10^4 rounded to the nearest integer (ties to
/// even, as llrint), then split at the point. (Redis 7.0 used "%.4f",
/// which can round a tie differently.)
pub fn format_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = (d * 10000.0).round_ties_even();
    // llrint of a value outside i64 is LLONG_MIN on x86-64.
    let v = if (-TWO_63..TWO_63).contains(&scaled) { scaled as i64 } else { i64::MIN };
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10000, a % 10000)
}

/// A coordinate as Redis's addReplyHumanLongDouble prints it: "%.17Lf" of
/// the (exactly widened) double, trailing zeros and a bare point removed,
/// "-0" as "0".
pub fn format_coord(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if v.is_nan() {
        return "nan".to_string();
    }
    let mut s = format!("{v:.17}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Redis's pqsort: the NetBSD quicksort that only finishes the partitions
/// overlapping positions lrange..=rrange, leaving those positions as a full
/// sort would. Equal elements end up in the order this algorithm leaves
/// them, which GEO replies with COUNT show, so it is ported as is.
pub fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> std::cmp::Ordering, lrange: usize, rrange: usize) {
    if v.is_empty() || lrange > rrange {
        return;
    }
    partial_quicksort(v, 0, cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> std::cmp::Ordering) -> usize {
    use std::cmp::Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements starting at `a` with those starting at `b`.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// `v` is the part of the whole array starting at `base`; lrange and
/// rrange are positions in the whole array.
fn partial_quicksort<T>(
    mut v: &mut [T],
    mut base: usize,
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    lrange: usize,
    rrange: usize,
) {
    use std::cmp::Ordering::{Equal, Greater, Less};
    loop {
        let n = v.len();
        if n < 7 {
            for pm in 1..n {
                let mut pl = pm;
                while pl > 0 && cmp(&v[pl - 1], &v[pl]) == Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = n / 2;
        if n > 7 {
            let mut pl = 0;
            let mut pn = n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(0, pm);
        // Three-way partition around v[0]: equal elements gather at both
        // ends (before pa, after pd), then move to the middle.
        let (mut pa, mut pb): (isize, isize) = (1, 1);
        let (mut pc, mut pd): (isize, isize) = (n as isize - 1, n as isize - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb as usize], &v[0]);
                if r == Greater {
                    break;
                }
                if r == Equal {
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc as usize], &v[0]);
                if r == Less {
                    break;
                }
                if r == Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = n as isize;
        let r = pa.min(pb - pa);
        vecswap(v, 0, (pb - r) as usize, r as usize);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb as usize, (pn - r) as usize, r as usize);
        let (pa, pb, pc, pd) = (pa as usize, pb as usize, pc, pd);
        // The run of smaller elements, then the run of larger ones; each is
        // sorted further only if it overlaps the requested positions.
        let overlaps = |start: usize, len: usize| !(rrange < start || lrange > start + len - 1);
        let small = pb - pa;
        if small > 1 && overlaps(base, small) {
            partial_quicksort(&mut v[..small], base, cmp, lrange, rrange);
        }
        let large = (pd - pc) as usize;
        if large > 1 {
            let start = n - large;
            if overlaps(base + start, large) {
                v = &mut v[start..];
                base += start;
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ffffff, 0x1234567), (u32::MAX, 7)] {
            let i = interleave64(x, y);
            assert_eq!(deinterleave64(i), x as u64 | ((y as u64) << 32));
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        // in Redis: ZSCOREs 3479099956230698 and 3479447370796909.
        assert_eq!(encode_score(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(encode_score(15.087269, 37.502669), Some(3479447370796909));
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(format_coord(lon), "13.36138933897018433");
        assert_eq!(format_coord(lat), "38.11555639549629859");
        assert_eq!(&hash_string(lon, lat), b"sqc8b49rny0");
        assert_eq!(encode_score(181.0, 0.0), None);
        assert_eq!(encode_score(0.0, 85.06), None);
    }

    #[test]
    fn distances_match_redis() {
        let (lon1, lat1) = decode_score(3479099956230698.0);
        let (lon2, lat2) = decode_score(3479447370796909.0);
        assert_eq!(format_distance(distance(lon1, lat1, lon2, lat2)), "166274.1516");
        assert_eq!(format_distance(distance(lon1, lat1, lon2, lat2) / 1000.0), "166.2742");
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(0.00004), "0.0000");
        assert_eq!(format_distance(12.5), "12.5000");
    }

    #[test]
    fn neighbours_wrap() {
        let h = encode(WGS84_LONG, WGS84_LAT, 179.9, 0.0, 2).unwrap();
        let n = neighbors(h);
        let east = decode(WGS84_LONG, WGS84_LAT, n.east).unwrap();
        assert_eq!(east.longitude.min, -180.0);
        let west = decode(WGS84_LONG, WGS84_LAT, n.west).unwrap();
        assert_eq!(west.longitude.max, 90.0);
    }

    #[test]
    fn out_of_range_scores_decode_like_c() {
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(f64::INFINITY), 0);
        assert_eq!(c_double_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(c_double_to_u64(1e300), 0);
        assert_eq!(c_double_to_u64(1.5), 1);
        assert_eq!(c_double_to_u64(1.8446744073709552e19), 0);
        assert_eq!(c_double_to_u64(9.3e18), 9_300_000_000_000_000_000);
    }

    #[test]
    fn pqsort_sorts_the_requested_positions() {
        let cmp = |a: &(u32, u32), b: &(u32, u32)| a.0.cmp(&b.0);
        let mut seed = 12345u64;
        for n in [0usize, 1, 5, 7, 8, 40, 41, 100, 1000] {
            let mut v: Vec<(u32, u32)> = (0..n as u32)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) as u32 % 50, i)
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(cmp);
            let k = n / 3;
            if n > 0 {
                pqsort(&mut v, &cmp, 0, k);
                let keys: Vec<u32> = v[..=k].iter().map(|e| e.0).collect();
                let want: Vec<u32> = sorted[..=k].iter().map(|e| e.0).collect();
                assert_eq!(keys, want, "n={n}");
            }
        }
    }
}
