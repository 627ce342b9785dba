//! Log-derived text is written by the attacker: a user agent, a request parameter or an
//! object key can hold escape sequences, line breaks, spreadsheet formulas or Markdown links.
//! This crate is the one place such text is made harmless, with one layer per output kind.
//! JSON needs none: serializers keep exact values and escape what JSON requires.
//!
//! - [`terminal`]: control characters are shown as `�`, never obeyed;
//! - [`csv`]: control characters replaced and formulas disarmed (OWASP's CSV injection rule);
//! - [`markdown`]: every character Markdown gives meaning to is escaped, so no link, image,
//!   heading or table break can be formed;
//! - [`html`]: entity-escaped for element content and attribute values.
//!
//! Pure: no IO.

pub mod csv;
pub mod html;
pub mod markdown;
pub mod terminal;

/// C0 controls, DEL and the C1 controls (which some terminals obey as ESC sequences).
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// Bidirectional overrides and isolates, which reorder what the reader sees
/// ("Trojan Source"): shown, not applied.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// What replaces a character that must not reach the reader as itself.
pub const REPLACEMENT: char = '\u{fffd}';
