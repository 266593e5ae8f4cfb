//! The owner's custom content (product §8.12): Markdown sections and FAQ, the uploaded logo and
//! wallpaper, and the theme (colours and custom CSS) every page links as stylesheets of the site.

pub mod markdown;
pub mod theme;
pub mod uploads;

pub use theme::SiteLook;
