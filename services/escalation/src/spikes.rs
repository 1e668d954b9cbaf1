//! Spike detection (being written).

use std::sync::Arc;

use komek_bus::HandleError;
use komek_domain::events::Envelope;

use crate::Deps;

pub async fn on_request_created(_deps: Arc<Deps>, _env: Envelope) -> Result<(), HandleError> {
    Ok(())
}
