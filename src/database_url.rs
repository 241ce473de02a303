//! TEMPORARY stub until the real module lands.
#[derive(Debug, Clone)]
pub struct DatabaseUrl(String);
#[derive(Debug, thiserror::Error)]
#[error("bad url")]
pub struct UrlError;
impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<Self, UrlError> {
        Ok(DatabaseUrl(s.to_owned()))
    }
    pub fn postgres_url(&self) -> String {
        self.0.replacen("postgresql+psycopg2://", "postgres://", 1)
    }
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}
pub fn redact(s: &str) -> String {
    s.to_owned()
}
