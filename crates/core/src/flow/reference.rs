//! `$.` references (the Flow language's JSONPath subset) inside parameter values.
//!
//! A reference starts with `$.` or `$[` and continues with dot segments of letters, digits,
//! `_` and `-`, or bracket segments `['…']`: `$.Attributes.name`, `$['Attributes']['a:b']`,
//! `$.SegmentAttributes['connect:Subtype']`, `$.Views.ViewResultData.FormData.extras.0`. Anything
//! else after a `$` is plain text (prices, CloudFormation `${…}` tokens).

/// A reference found in a text: its byte range and its path segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub start: usize,
    pub end: usize,
    pub path: Vec<String>,
}

/// Namespaces a reference may start with (see the Flow language's list of contact attributes).
pub const NAMESPACES: [&str; 41] = [
    "Attributes",
    "External",
    "FlowAttributes",
    "Lex",
    "Views",
    "ContactId",
    "InitialContactId",
    "PreviousContactId",
    "RelatedContactId",
    "Task",
    "InstanceARN",
    "AwsRegion",
    "Channel",
    "InitiationMethod",
    "CustomerEndpoint",
    "SystemEndpoint",
    "CustomerId",
    "Name",
    "Description",
    "References",
    "LanguageCode",
    "Tags",
    "Queue",
    "Agent",
    "Metrics",
    "StoredCustomerInput",
    "Media",
    "MediaStreams",
    "SegmentAttributes",
    "Customer",
    "Case",
    "Wisdom",
    "Loop",
    "Modules",
    "DataTables",
    "DataTableList",
    "Capabilities",
    "TextToSpeechVoiceId",
    "LambdaInvocation",
    "LoopCounter",
    // The number a voice callback dials; empty on chat.
    "CustomerCallBackPhoneNumber",
];

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Every reference in `text`, or the byte offset of a malformed one (an unclosed bracket).
pub fn references_in(text: &str) -> Result<Vec<Reference>, usize> {
    let mut found = Vec::new();
    let mut position = 0;
    while let Some(offset) = text[position..].find('$') {
        let start = position + offset;
        match parse_at(text, start)? {
            Some(reference) => {
                position = reference.end;
                found.push(reference);
            }
            None => position = start + 1,
        }
    }
    Ok(found)
}

/// The reference starting at `start` (a `$`), `None` when none starts there.
fn parse_at(text: &str, start: usize) -> Result<Option<Reference>, usize> {
    let mut path = Vec::new();
    let mut at = start + 1;
    loop {
        let rest = &text[at..];
        if let Some(after_dot) = rest.strip_prefix('.') {
            let key: String = after_dot.chars().take_while(|c| is_key_char(*c)).collect();
            if key.is_empty() {
                break;
            }
            at += 1 + key.len();
            path.push(key);
        } else if let Some(after_bracket) = rest.strip_prefix("['") {
            let Some(close) = after_bracket.find("']") else {
                return Err(start);
            };
            path.push(after_bracket[..close].to_string());
            at += 2 + close + 2;
        } else {
            break;
        }
    }
    Ok((!path.is_empty()).then_some(Reference {
        start,
        end: at,
        path,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<Vec<String>> {
        references_in(text)
            .unwrap()
            .into_iter()
            .map(|r| r.path)
            .collect()
    }

    #[test]
    fn dot_bracket_and_embedded_references() {
        assert_eq!(paths("$.Attributes.name"), vec![vec!["Attributes", "name"]]);
        assert_eq!(
            paths("Hi $.Attributes.first-name, case $.External.case_id."),
            vec![
                vec!["Attributes", "first-name"],
                vec!["External", "case_id"]
            ]
        );
        assert_eq!(
            paths("$.SegmentAttributes['connect:Subtype']"),
            vec![vec!["SegmentAttributes", "connect:Subtype"]]
        );
        assert_eq!(
            paths("$['Attributes']['Language']"),
            vec![vec!["Attributes", "Language"]]
        );
        assert_eq!(
            paths("1$.Attributes.udCounter"),
            vec![vec!["Attributes", "udCounter"]]
        );
        assert_eq!(
            paths("$.Views.ViewResultData.FormData.extras.0"),
            vec![vec!["Views", "ViewResultData", "FormData", "extras", "0"]]
        );
    }

    #[test]
    fn dollars_that_are_not_references() {
        assert!(paths("costs $5 or ${QiCDomainArn} or $. alone or $").is_empty());
        assert_eq!(references_in("$.Attributes['open"), Err(0));
    }
}
