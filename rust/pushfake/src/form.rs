//! Decoding `application/x-www-form-urlencoded` bodies.

/// The value of the first field `name` of a urlencoded form.
pub(crate) fn field(form: &str, name: &str) -> Option<String> {
    form.split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find_map(|(k, v)| {
            (decode(k).as_deref() == Some(name))
                .then(|| decode(v))
                .flatten()
        })
}

/// Percent-decoding with `+` as space; `None` on malformed escapes or UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fields() {
        let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b-c_d&x=1+2";
        assert_eq!(
            field(form, "grant_type").as_deref(),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        );
        assert_eq!(field(form, "assertion").as_deref(), Some("a.b-c_d"));
        assert_eq!(field(form, "x").as_deref(), Some("1 2"));
        assert_eq!(field(form, "missing"), None);
        assert_eq!(field("a=%zz", "a"), None);
        assert_eq!(field("a", "a").as_deref(), Some(""));
    }
}
