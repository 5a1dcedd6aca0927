//! Random identifiers in the shapes the providers use.

use rand::distributions::Alphanumeric;
use rand::Rng;

/// A random (version 4) UUID in canonical lowercase form, as in `apns-id`.
pub(crate) fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::thread_rng().gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether `s` is a UUID in canonical 8-4-4-4-12 hexadecimal form.
pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// `n` random alphanumeric characters.
pub(crate) fn alphanumeric(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// `n` random lowercase hexadecimal digits.
pub(crate) fn hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap())
        .collect()
}

/// `n` random decimal digits, the first not zero.
pub(crate) fn digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|i| char::from_digit(rng.gen_range(u32::from(i == 0)..10), 10).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_canonical_v4() {
        let id = uuid_v4();
        assert!(is_uuid(&id), "{id}");
        assert_eq!(&id[14..15], "4");
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("eabeae54-14a8-11e5-b60b-1697f925ec7"));
        assert!(is_uuid("EABEAE54-14A8-11E5-B60B-1697F925EC7B"));
    }

    #[test]
    fn digits_have_no_leading_zero() {
        for _ in 0..50 {
            let d = digits(21);
            assert_eq!(d.len(), 21);
            assert_ne!(&d[..1], "0");
        }
    }
}
