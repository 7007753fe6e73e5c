//! CRC-64/Jones as Redis uses it for RDB files and DUMP payloads:
//! polynomial 0xad93d23594c935a9, reflected, initial value 0, no final xor.

const POLY_REFLECTED: u64 = 0x95ac9329ac4bc9b5;

const fn make_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static TABLE: [u64; 256] = make_table();

/// Continues a CRC over `data` (start with 0).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
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
