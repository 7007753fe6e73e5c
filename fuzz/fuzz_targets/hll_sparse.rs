//! The sparse HyperLogLog decoder and editor on arbitrary bytes.
//!
//! Input: 4 control bytes (register index, value, hll-sparse-max-bytes),
//! then a sparse body put behind a valid header. A naive decoder written
//! here says what the registers are; oxkey's walks must agree with it,
//! accept exactly the bodies whose runs cover 16384 registers, and never
//! panic or index out of bounds on the others.

#![no_main]

use oxkey::types::hyperloglog::{self as hll, Op, REGISTERS};

/// The registers a sparse body describes, or None unless its runs add up
/// to exactly 16384. An XZERO cut by the end reads a zero second byte.
fn naive_registers(body: &[u8]) -> Option<Vec<u8>> {
    naive_runs(body).map(|(regs, _)| regs)
}

/// The registers, and whether the last opcode is an XZERO cut by the end.
fn naive_runs(body: &[u8]) -> Option<(Vec<u8>, bool)> {
    let mut cut = false;
    let mut regs = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        let (len, val) = match b >> 6 {
            0 => ((b & 0x3f) as usize + 1, 0),
            1 => {
                cut = i + 1 == body.len();
                let lo = body.get(i + 1).copied().unwrap_or(0);
                i += 1;
                ((((b & 0x3f) as usize) << 8 | lo as usize) + 1, 0)
            }
            _ => ((b & 3) as usize + 1, ((b >> 2) & 0x1f) + 1),
        };
        i += 1;
        if regs.len() + len > REGISTERS {
            return None;
        }
        regs.resize(regs.len() + len, val);
    }
    (regs.len() == REGISTERS).then_some((regs, cut))
}

fn check(data: &[u8]) {
    let [i0, i1, count, max, body @ ..] = data else { return };
    let index = u16::from_le_bytes([*i0, *i1]) as usize % REGISTERS;
    let count = count % 52 + 1;
    let sparse_max = *max as usize * 24;
    let mut value = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    value.extend_from_slice(body);
    assert!(hll::is_valid(&value));

    let runs = naive_runs(body);
    let naive = runs.as_ref().map(|(regs, _)| regs.clone());
    let cut = runs.is_some_and(|(_, cut)| cut);
    let decoded = hll::decode(&value);
    assert_eq!(decoded.split(' ').filter(|s| !s.is_empty()).count(), hll::ops(&value).count());

    let mut max = Box::new([0u8; REGISTERS]);
    let merged = hll::merge(&mut max, &value);
    let counted = hll::count(&value);
    let mut dense = value.clone();
    let converted = hll::sparse_to_dense(&mut dense);
    assert_eq!(merged.is_ok(), naive.is_some());
    assert_eq!(counted.is_ok(), naive.is_some());
    assert_eq!(converted.is_ok(), naive.is_some());

    if let Some(regs) = &naive {
        assert_eq!(&max[..], &regs[..]);
        assert_eq!(dense.len(), hll::DENSE_SIZE);
        assert!(hll::is_valid(&dense));
        assert!(hll::dense_registers(&dense).eq(regs.iter().copied()));
        assert_eq!(hll::count(&dense), counted);
        assert_eq!(counted, Ok(hll::estimate(&hll::raw_histogram(&max))));
    } else {
        // Nothing was changed by the failed conversion.
        assert_eq!(dense, value);
    }

    // Raising one register: on a valid HLL only that register moves (to
    // the larger value) and the result is valid in whichever encoding.
    let before = value.len();
    let mut edited = value.clone();
    let res = hll::sparse_set(&mut edited, index, count, sparse_max);
    match (&naive, res) {
        (Some(regs), Ok(changed)) => {
            let mut want = regs.clone();
            want[index] = want[index].max(count);
            assert_eq!(changed, want[index] != regs[index]);
            let got: Vec<u8> = if hll::encoding(&edited) == hll::DENSE {
                assert_eq!(edited.len(), hll::DENSE_SIZE);
                hll::dense_registers(&edited).collect()
            } else if cut {
                // Redis splits a cut XZERO as if it had its second byte,
                // and the sequence written past the end is cut again: the
                // result is Redis's, not a whole set of runs.
                assert!(edited.len() <= before + 3);
                return;
            } else {
                assert!(edited.len() <= before || edited.len() <= sparse_max);
                naive_registers(&edited[hll::HDR_SIZE..]).expect("an edit keeps the runs whole")
            };
            assert_eq!(got, want);
            if changed {
                assert_eq!(hll::cached_card(&edited), None);
            }
        }
        (Some(_), Err(_)) => panic!("a valid HLL was reported corrupted"),
        // A corrupted body may still be edited where the register is found
        // (as Redis does), but never grows past the three bytes a split adds.
        (None, _) => assert!(edited.len() <= before + 3 || edited.len() == hll::DENSE_SIZE),
    }
    // The opcodes still decode, whatever happened.
    let _ = hll::ops(&edited).map(|op| matches!(op, Op::Val(..))).count();
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
