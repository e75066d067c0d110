//! Paginated lists: a bounded page size and an opaque continuation token.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::DomainError;
use crate::values::FieldErrors;

/// Page size when the caller does not ask for one.
pub const DEFAULT_LIMIT: u16 = 50;
/// The largest page a caller may ask for; keeps responses far below the ALB's 1 MB.
pub const MAX_LIMIT: u16 = 100;

/// The `limit` and `nextToken` query parameters every list accepts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// The `nextToken` of the previous page.
    pub next_token: Option<String>,
}

/// A validated page request.
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// How many items to return.
    pub limit: u16,
    /// Where to continue, as issued with the previous page.
    pub token: Option<String>,
}

impl TryFrom<PageQuery> for PageRequest {
    type Error = DomainError;

    fn try_from(query: PageQuery) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let limit = errors.check(
            "limit",
            match query.limit.unwrap_or(DEFAULT_LIMIT) {
                limit @ 1..=MAX_LIMIT => Ok(limit),
                _ => Err(format!("limit must be between 1 and {MAX_LIMIT}")),
            },
        );
        errors.finish().map_err(DomainError::InvalidQuery)?;
        Ok(Self {
            limit: limit.unwrap_or(DEFAULT_LIMIT),
            token: query.next_token.filter(|t| !t.is_empty()),
        })
    }
}

/// Every item of a list, reading its pages (of [`MAX_LIMIT`]) one after
/// another: `read` asks for one page.
pub async fn every_page<T, F, Fut>(mut read: F) -> Result<Vec<T>, DomainError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, DomainError>>,
{
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = read(PageRequest {
            limit: MAX_LIMIT,
            token,
        })
        .await?;
        all.extend(page.items);
        match page.next_token {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items of this page, in list order.
    pub items: Vec<T>,
    /// Pass as `nextToken` to get the next page; `null` on the last page.
    pub next_token: Option<String>,
}
