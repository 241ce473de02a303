//! `history --graph` and `graph --format dot|mermaid`.

use crate::app::App;
use crate::cli::Format;
use crate::cli::GraphFormat;
use crate::core::plan;
use crate::error::{Error, UsageError};

use super::inspect::marks;

impl App<'_, '_> {
    /// `history --graph [-r RANGE] [-i]`: the revisions of `history`, drawn.
    pub(super) fn history_graph(
        &mut self,
        range: Option<&str>,
        indicate_current: bool,
    ) -> Result<(), Error> {
        if self.format == Format::Json {
            return Err(UsageError::GraphAsJson.into());
        }
        let g = self.graph()?;
        let (revs, shown) = self.history_revisions(&g, range, indicate_current)?;
        let text = crate::core::graph_draw::draw(&g, &revs, shown.as_ref(), self.color);
        self.out(&text)
    }

    /// `graph --format dot|mermaid`: with a database URL, its revisions are highlighted.
    pub(super) fn diagram(&mut self, format: GraphFormat) -> Result<(), Error> {
        let g = self.graph()?;
        // No URL anywhere: a plain diagram. A URL that is given but broken is an error. The
        // `${DATABASE_URL}` that `dapp db init` writes, with the variable unset, is no URL.
        let no_url = matches!(
            self.config.database_url(),
            Err(crate::config::ConfigError::NoDatabaseUrl
                | crate::config::ConfigError::UndefinedVariable { .. })
        );
        let current = if !no_url {
            let rows = self.read_current_rows(&g).map_err(|e| match e {
                Error::Engine(e) if crate::error::engine_exit_code(&e) == crate::error::EXIT_FAILED => Error::Findings(
                    format!("{e}; `graph` reads the database to highlight its revisions: for a plain diagram, leave out --database-url and unset DATABASE_URL"),
                ),
                e => e,
            })?;
            Some(marks(&g, &rows))
        } else {
            None
        };
        let order = plan::history(&g, None, &[])?;
        let text = match format {
            GraphFormat::Dot => crate::core::graph_export::dot(&g, &order, current.as_ref()),
            GraphFormat::Mermaid => {
                crate::core::graph_export::mermaid(&g, &order, current.as_ref())
            }
        };
        self.out(&text)
    }
}
