//! CRC-64/Jones as Redis uses it for RDB files and DUMP payloads:
//! polynomial 0xad93d23594c935a9, reflected, initial value 0, no final xor.

const POLY_REFLECTED: u64 = 0x95ac9329ac4bc9b5;

/// Slicing-by-8 tables: `TABLES[0]` is the classic byte table, `TABLES[k]`
/// advances a byte through k more zero bytes (as Redis's crcspeed).
const fn make_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = t[0][(prev & 0xff) as usize] ^ (prev >> 8);
            i += 1;
        }
        k += 1;
    }
    t
}

static TABLES: [[u64; 256]; 8] = make_tables();

/// Continues a CRC over `data` (start with 0), eight bytes per step.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let t = &TABLES;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(v & 0xff) as usize]
            ^ t[6][((v >> 8) & 0xff) as usize]
            ^ t[5][((v >> 16) & 0xff) as usize]
            ^ t[4][((v >> 24) & 0xff) as usize]
            ^ t[3][((v >> 32) & 0xff) as usize]
            ^ t[2][((v >> 40) & 0xff) as usize]
            ^ t[1][((v >> 48) & 0xff) as usize]
            ^ t[0][(v >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_of_redis_test() {
        // Redis's crc64.c self-test: crc64(0, "123456789") = e9c6d914c4b8d9ca.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        let (a, b) = b"123456789".split_at(4);
        assert_eq!(crc64(crc64(0, a), b), 0xe9c6d914c4b8d9ca);
        // Any split gives the byte-at-a-time result.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let slow = data.iter().fold(0u64, |c, &b| TABLES[0][((c ^ b as u64) & 0xff) as usize] ^ (c >> 8));
        for cut in [0, 1, 7, 8, 9, 500, 999] {
            assert_eq!(crc64(crc64(0, &data[..cut]), &data[cut..]), slow);
        }
    }

    #[test]
    fn matches_a_redis_dump_trailer() {
        // DUMP of a 40-byte string on Redis 7.0.15: payload, RDB version 10,
        // then the CRC of both, little-endian.
        let body = b"\x00\xc3\x09\x28\x01aa\xe0\x1b\x00\x01aa\x0a\x00";
        let trailer = b"\xcf\x09\x2f\xaa\xae\x25\x83\x1d";
        assert_eq!(crc64(0, body).to_le_bytes(), *trailer);
    }
}
