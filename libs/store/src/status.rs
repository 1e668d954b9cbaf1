//! Status tokens: the secret a customer is given with the acknowledgment, to open their request
//! without number + contact. Only the token's hash is kept (`{p}:status:{sha256}` -> request id).

use komek_domain::RequestId;
use redis::AsyncCommands;

use crate::commit::{Store, StoreError};

impl Store {
    /// Stores that the token whose SHA-256 is `token_hash` opens request `id`. No TTL: it works
    /// as long as the request is kept.
    pub async fn add_status_token(
        &self,
        token_hash: &str,
        id: RequestId,
    ) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: () = c
            .set(self.keys().status_token(token_hash), id.to_string())
            .await?;
        Ok(())
    }

    /// The request the token whose SHA-256 is `token_hash` opens, if any.
    pub async fn request_by_status_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<komek_domain::Request>, StoreError> {
        let Some(id) = self
            .get_string(&self.keys().status_token(token_hash))
            .await?
        else {
            return Ok(None);
        };
        match id.parse::<RequestId>() {
            Ok(id) => self.request(id).await,
            Err(_) => Ok(None),
        }
    }
}
