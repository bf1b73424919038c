//! The HTTP/1.1 wire format: as much of RFC 9112 as the Runtime API uses.
//!
//! Messages are read from any [`BufRead`], so the parser is tested on byte
//! slices and used on sockets alike. It is strict where a lenient parser could
//! hide a runtime bug (conflicting framing, bad chunk syntax, folded headers)
//! and lenient only where real servers are (a bare LF ends a line).

use std::io::{self, BufRead, Read};

/// Longest accepted line: a request, status, header or chunk-size line.
const MAX_LINE: usize = 16 * 1024;

/// Most header fields in one message (or one trailer section).
const MAX_FIELDS: usize = 100;

/// Largest accepted body. Ten times Lambda's 6 MB payload limit, and bounded
/// so that a confused peer cannot make the server allocate without end.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// Header fields in arrival order, names as sent.
pub(crate) type Fields = Vec<(String, String)>;

/// The first field named `name`, compared case-insensitively as RFC 9110 says.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every comma-separated token of every field named `name`, lowercased.
fn tokens(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

pub(crate) fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn eof(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, format!("connection closed {what}"))
}

/// Reads one line without its CRLF (or bare LF). `None` at EOF before any byte.
fn read_line(r: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if line.len() > MAX_LINE {
            invalid("line too long")
        } else {
            eof("in the middle of a line")
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads header fields up to and including the empty line that ends them.
fn read_fields(r: &mut impl BufRead) -> io::Result<Fields> {
    let mut fields = Fields::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| eof("inside the header section"))?;
        if line.is_empty() {
            return Ok(fields);
        }
        if fields.len() == MAX_FIELDS {
            return Err(invalid("too many header fields"));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(invalid("obsolete line folding in a header field"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| invalid("header line without a colon"))?;
        let name = String::from_utf8_lossy(&line[..colon]).into_owned();
        if !is_token(&name) {
            return Err(invalid(format!("bad header name {name:?}")));
        }
        let value = &line[colon + 1..];
        if value.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(invalid(format!("bad byte in the value of {name}")));
        }
        let value = String::from_utf8_lossy(value)
            .trim_matches([' ', '\t'])
            .to_owned();
        fields.push((name, value));
    }
}

/// A message head: the start line (request line or status line) and fields.
#[derive(Debug)]
pub(crate) struct Head {
    pub start: String,
    pub fields: Fields,
}

/// Reads a message head. `None` when the peer closed cleanly before it.
pub(crate) fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    // RFC 9112 section 2.2: ignore empty lines before a request line.
    let start = loop {
        match read_line(r)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let start = String::from_utf8(start).map_err(|_| invalid("start line is not UTF-8"))?;
    let fields = read_fields(r)?;
    Ok(Some(Head { start, fields }))
}

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestLine {
    pub method: String,
    pub target: String,
    pub version: String,
}

pub(crate) fn parse_request_line(line: &str) -> io::Result<RequestLine> {
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("bad request line {line:?}")));
    };
    if !is_token(method) || target.is_empty() || !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(invalid(format!("bad request line {line:?}")));
    }
    Ok(RequestLine {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
    })
}

/// Parses `HTTP/1.1 200 OK` into the status code.
pub(crate) fn parse_status_line(line: &str) -> io::Result<u16> {
    let bad = || invalid(format!("bad status line {line:?}"));
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .ok_or_else(bad)?;
    let code = rest.get(..3).ok_or_else(bad)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !matches!(rest.as_bytes().get(3), None | Some(b' ')) {
        return Err(bad());
    }
    code.parse().map_err(|_| bad())
}

/// How a message's body is delimited (RFC 9112 section 6.3).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(usize),
    Chunked,
    /// Only for responses: the body runs to the end of the connection.
    UntilClose,
}

/// The framing of a request: `Content-Length`, chunked, or no body at all.
/// Both at once is refused: RFC 9112 allows a server to, and for a client
/// under test it is a bug worth seeing.
pub(crate) fn request_framing(fields: &[(String, String)]) -> io::Result<Framing> {
    let codings = tokens(fields, "transfer-encoding");
    if !codings.is_empty() {
        if codings != ["chunked"] {
            return Err(invalid(format!("unsupported transfer coding {codings:?}")));
        }
        if field(fields, "content-length").is_some() {
            return Err(invalid("both Transfer-Encoding and Content-Length"));
        }
        return Ok(Framing::Chunked);
    }
    Ok(Framing::Length(content_length(fields)?.unwrap_or(0)))
}

/// The framing of a response to a request that was not `HEAD`.
pub(crate) fn response_framing(status: u16, fields: &[(String, String)]) -> io::Result<Framing> {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Length(0));
    }
    if tokens(fields, "transfer-encoding").last().map(String::as_str) == Some("chunked") {
        return Ok(Framing::Chunked);
    }
    Ok(content_length(fields)?.map_or(Framing::UntilClose, Framing::Length))
}

/// `Content-Length`: all values (repeated fields or a list) must agree.
fn content_length(fields: &[(String, String)]) -> io::Result<Option<usize>> {
    let mut length = None;
    for value in tokens(fields, "content-length") {
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!("bad Content-Length {value:?}")));
        }
        let n: usize = value.parse().map_err(|_| invalid("Content-Length too large"))?;
        if length.is_some_and(|m| m != n) {
            return Err(invalid("conflicting Content-Length values"));
        }
        length = Some(n);
    }
    if length.is_some_and(|n| n > MAX_BODY) {
        return Err(invalid("body larger than MAX_BODY"));
    }
    Ok(length)
}

/// A message body and, for a chunked one, its trailer fields.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    pub trailers: Fields,
}

pub(crate) fn read_body(r: &mut impl BufRead, framing: Framing) -> io::Result<Body> {
    read_body_with(r, framing, |_| {})
}

/// [`read_body`], calling `on_chunk` with the size of each data chunk of a
/// chunked body as soon as that chunk has been read whole, so that a server
/// can see a streamed body arrive.
pub(crate) fn read_body_with(
    r: &mut impl BufRead,
    framing: Framing,
    on_chunk: impl FnMut(usize),
) -> io::Result<Body> {
    match framing {
        Framing::Length(n) => {
            let mut bytes = vec![0; n];
            r.read_exact(&mut bytes)
                .map_err(|e| with_context(e, "inside a Content-Length body"))?;
            Ok(Body {
                bytes,
                trailers: Fields::new(),
            })
        }
        Framing::Chunked => read_chunked(r, on_chunk),
        Framing::UntilClose => {
            let mut bytes = Vec::new();
            r.take(MAX_BODY as u64 + 1).read_to_end(&mut bytes)?;
            if bytes.len() > MAX_BODY {
                return Err(invalid("body larger than MAX_BODY"));
            }
            Ok(Body {
                bytes,
                trailers: Fields::new(),
            })
        }
    }
}

fn with_context(e: io::Error, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        eof(what)
    } else {
        e
    }
}

/// Decodes `Transfer-Encoding: chunked` (RFC 9112 section 7.1): hex sizes
/// with optional extensions, each chunk followed by CRLF, a zero-size last
/// chunk, then trailer fields and an empty line.
fn read_chunked(r: &mut impl BufRead, mut on_chunk: impl FnMut(usize)) -> io::Result<Body> {
    let mut bytes = Vec::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| eof("before a chunk size"))?;
        let line = String::from_utf8(line).map_err(|_| invalid("chunk size line is not UTF-8"))?;
        let size = line.split(';').next().unwrap_or("").trim_end_matches([' ', '\t']);
        if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(format!("bad chunk size line {line:?}")));
        }
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("chunk size overflow"))?;
        if size == 0 {
            break;
        }
        if size > MAX_BODY - bytes.len() {
            return Err(invalid("body larger than MAX_BODY"));
        }
        let start = bytes.len();
        bytes.resize(start + size, 0);
        r.read_exact(&mut bytes[start..])
            .map_err(|e| with_context(e, "inside a chunk"))?;
        // Strictly CRLF here, even though a bare LF ends other lines: a
        // size one byte too large would otherwise swallow the CR unnoticed.
        let mut end = [0; 2];
        r.read_exact(&mut end)
            .map_err(|e| with_context(e, "after chunk data"))?;
        if end != *b"\r\n" {
            return Err(invalid("chunk data not followed by CRLF"));
        }
        on_chunk(size);
    }
    let trailers = read_fields(r)?;
    Ok(Body { bytes, trailers })
}

/// Whether the connection closes after this exchange: `Connection: close`,
/// or HTTP/1.0 without `keep-alive`.
pub(crate) fn wants_close(version: &str, fields: &[(String, String)]) -> bool {
    let options = tokens(fields, "connection");
    if options.iter().any(|t| t == "close") {
        return true;
    }
    version == "HTTP/1.0" && !options.iter().any(|t| t == "keep-alive")
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full request as the server reads it: head, then body by its framing.
    fn request(r: &mut impl BufRead) -> io::Result<Option<(RequestLine, Fields, Body)>> {
        let Some(head) = read_head(r)? else {
            return Ok(None);
        };
        let line = parse_request_line(&head.start)?;
        let body = read_body(r, request_framing(&head.fields)?)?;
        Ok(Some((line, head.fields, body)))
    }

    fn one(raw: &[u8]) -> io::Result<(RequestLine, Fields, Body)> {
        let mut r = raw;
        let parsed = request(&mut r)?.expect("a request");
        assert!(r.is_empty(), "unread bytes: {:?}", String::from_utf8_lossy(r));
        Ok(parsed)
    }

    #[test]
    fn content_length_body() {
        let (line, fields, body) = one(b"POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\n\
              Host: x\r\ncontent-length: 5\r\n\r\nhello")
        .unwrap();
        assert_eq!(line.method, "POST");
        assert_eq!(line.target, "/2018-06-01/runtime/invocation/a/response");
        assert_eq!(line.version, "HTTP/1.1");
        assert_eq!(body.bytes, b"hello");
        assert_eq!(field(&fields, "Content-Length"), Some("5"));
        assert_eq!(field(&fields, "HOST"), Some("x"));
    }

    #[test]
    fn header_values_are_trimmed_and_names_keep_their_case() {
        let (_, fields, _) = one(b"GET / HTTP/1.1\r\nX-Thing: \t a b \t\r\n\r\n").unwrap();
        assert_eq!(fields, [("X-Thing".to_owned(), "a b".to_owned())]);
    }

    #[test]
    fn no_framing_means_no_body() {
        let mut r: &[u8] = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let (first, _, body) = request(&mut r).unwrap().unwrap();
        assert_eq!(first.target, "/a");
        assert!(body.bytes.is_empty());
        let (second, _, _) = request(&mut r).unwrap().unwrap();
        assert_eq!(second.target, "/b");
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let (_, fields, body) = one(b"POST /r HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n\
              5;name=value\r\nhello\r\n19 \r\n, and twenty more bytes!!\r\n0\r\n\
              Lambda-Runtime-Function-Error-Type: Runtime.X\r\n\r\n")
        .unwrap();
        assert_eq!(body.bytes, b"hello, and twenty more bytes!!".as_slice());
        assert_eq!(
            field(&body.trailers, "lambda-runtime-function-error-type"),
            Some("Runtime.X")
        );
        assert_eq!(field(&fields, "transfer-encoding"), Some("Chunked"));
    }

    #[test]
    fn each_data_chunk_is_reported_once_read() {
        let mut r: &[u8] = b"5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nA: b\r\n\r\nrest";
        let mut sizes = Vec::new();
        let body = read_body_with(&mut r, Framing::Chunked, |n| sizes.push(n)).unwrap();
        assert_eq!(sizes, [5, 1]);
        assert_eq!(body.bytes, b"hello!");
        assert_eq!(r, b"rest");

        let mut cut: &[u8] = b"5\r\nhello\r\n3\r\nab";
        let mut sizes = Vec::new();
        let error = read_body_with(&mut cut, Framing::Chunked, |n| sizes.push(n)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(sizes, [5], "only whole chunks are reported");
    }

    #[test]
    fn chunked_body_of_several_megabytes() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut raw = b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for piece in data.chunks(65_536) {
            raw.extend(format!("{:x}\r\n", piece.len()).bytes());
            raw.extend(piece);
            raw.extend(b"\r\n");
        }
        raw.extend(b"0\r\n\r\n");
        let (_, _, body) = one(&raw).unwrap();
        assert!(body.bytes == data, "decoded body differs");
    }

    #[test]
    fn keep_alive_reads_requests_back_to_back() {
        let mut r: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
              POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n\
              GET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut seen = Vec::new();
        while let Some((line, fields, body)) = request(&mut r).unwrap() {
            seen.push((line.target, body.bytes, wants_close(&line.version, &fields)));
        }
        assert_eq!(
            seen,
            [
                ("/a".to_owned(), b"abc".to_vec(), false),
                ("/b".to_owned(), b"de".to_vec(), false),
                ("/c".to_owned(), Vec::new(), true),
            ]
        );
    }

    #[test]
    fn connection_options() {
        let f = |v: &str| vec![("Connection".to_owned(), v.to_owned())];
        assert!(!wants_close("HTTP/1.1", &[]));
        assert!(wants_close("HTTP/1.1", &f("Close")));
        assert!(wants_close("HTTP/1.1", &f("te, close")));
        assert!(wants_close("HTTP/1.0", &[]));
        assert!(!wants_close("HTTP/1.0", &f("Keep-Alive")));
    }

    #[test]
    fn bare_lf_line_endings_are_accepted() {
        let (line, _, body) = one(b"POST /a HTTP/1.1\nContent-Length: 2\n\nhi").unwrap();
        assert_eq!(
            (line.target.as_str(), body.bytes.as_slice()),
            ("/a", b"hi".as_slice())
        );
    }

    #[test]
    fn clean_eof_is_not_an_error() {
        assert!(request(&mut &b""[..]).unwrap().is_none());
        assert!(request(&mut &b"\r\n"[..]).unwrap().is_none());
    }

    fn error(raw: &[u8]) -> io::Error {
        match request(&mut &raw[..]) {
            Ok(parsed) => panic!("accepted {:?}: {parsed:?}", String::from_utf8_lossy(raw)),
            Err(e) => e,
        }
    }

    #[test]
    fn truncated_messages_are_errors() {
        for raw in [
            &b"GET / HTTP/1.1\r\nHost: x"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        ] {
            assert_eq!(error(raw).kind(), io::ErrorKind::UnexpectedEof, "{raw:?}");
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        for raw in [
            &b"GET /\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        ] {
            assert_eq!(error(raw).kind(), io::ErrorKind::InvalidData, "{raw:?}");
        }
    }

    #[test]
    fn oversized_input_is_refused() {
        let long = [b"GET /".as_slice(), &[b'a'; MAX_LINE], b" HTTP/1.1\r\n\r\n"].concat();
        assert_eq!(error(&long).kind(), io::ErrorKind::InvalidData);
        let huge = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert_eq!(error(huge.as_bytes()).kind(), io::ErrorKind::InvalidData);
        let many: String = (0..=MAX_FIELDS).map(|i| format!("X-{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(error(many.as_bytes()).kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line("HTTP/1.1 202 Accepted").unwrap(), 202);
        assert_eq!(parse_status_line("HTTP/1.1 200").unwrap(), 200);
        assert_eq!(parse_status_line("HTTP/1.0 500 Oops").unwrap(), 500);
        for bad in [
            "HTTP/1.1 2OO OK",
            "HTTP/1.1 20",
            "HTTP/1.1 2000 x",
            "HTTP/2 200",
            "200 OK",
        ] {
            assert!(parse_status_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn response_framings() {
        let cl = vec![("Content-Length".to_owned(), "7".to_owned())];
        let te = vec![("Transfer-Encoding".to_owned(), "chunked".to_owned())];
        assert_eq!(response_framing(200, &cl).unwrap(), Framing::Length(7));
        assert_eq!(response_framing(200, &te).unwrap(), Framing::Chunked);
        assert_eq!(response_framing(200, &[]).unwrap(), Framing::UntilClose);
        assert_eq!(response_framing(204, &cl).unwrap(), Framing::Length(0));
        let mut r: &[u8] = b"all of it";
        assert_eq!(
            read_body(&mut r, Framing::UntilClose).unwrap().bytes,
            b"all of it"
        );
    }
}
