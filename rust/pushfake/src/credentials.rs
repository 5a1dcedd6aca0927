//! The signing keys the fakes hand out and verify against: an APNs auth key
//! (ES256) and a Google service-account key (RS256).

use jsonwebtoken::DecodingKey;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256};

use crate::ids;

/// An APNs token-auth key, as in Apple's `AuthKey_<key id>.p8`.
pub(crate) struct ApnsKey {
    /// The private key as PKCS#8 PEM.
    pub(crate) private_pem: String,
    /// Its public half, for verifying provider tokens.
    pub(crate) verifier: DecodingKey,
}

impl ApnsKey {
    pub(crate) fn generate() -> Result<ApnsKey, String> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
        let verifier =
            DecodingKey::from_ec_pem(key.public_key_pem().as_bytes()).map_err(|e| e.to_string())?;
        Ok(ApnsKey {
            private_pem: key.serialize_pem(),
            verifier,
        })
    }
}

/// A Google service account and its key.
pub(crate) struct ServiceAccount {
    pub(crate) project_id: String,
    /// 40 hex digits; the `kid` of the account's assertions.
    pub(crate) private_key_id: String,
    /// RSA 2048 private key as PKCS#8 PEM.
    pub(crate) private_key_pem: String,
    pub(crate) client_email: String,
    pub(crate) client_id: String,
    /// Its public half, for verifying assertions.
    pub(crate) verifier: DecodingKey,
}

impl ServiceAccount {
    /// A new account of `project_id`. RSA key generation is aws-lc's, fast
    /// even in debug builds.
    pub(crate) fn generate(project_id: &str, client_email: &str) -> Result<ServiceAccount, String> {
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(|e| e.to_string())?;
        let verifier = DecodingKey::from_rsa_pem(key.public_key_pem().as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(ServiceAccount {
            project_id: project_id.to_owned(),
            private_key_id: ids::hex(40),
            private_key_pem: key.serialize_pem(),
            client_email: client_email.to_owned(),
            client_id: ids::digits(21),
            verifier,
        })
    }

    /// The key file Google's console downloads, naming `token_uri`.
    pub(crate) fn key_file_json(&self, token_uri: &str) -> String {
        let cert_url = format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            self.client_email.replace('@', "%40")
        );
        let file = serde_json::json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": cert_url,
            "universe_domain": "googleapis.com",
        });
        // Pretty with two-space indent, as the downloaded files are.
        serde_json::to_string_pretty(&file).expect("a JSON value serialises") + "\n"
    }
}
