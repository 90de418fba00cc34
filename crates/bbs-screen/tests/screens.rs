//! The screens driven by keys and data alone, drawn through the renderer
//! into a `vt100` terminal, and the terminal's screen checked: what a
//! user would see, at 80×24 and 120×40.

use bbs_screen::app::{Article, BoardItem, CommentKind, CommentLine, PostItem, Screen};
use bbs_screen::{App, Buffer, Data, Effect, Input, InputParser, Renderer};

/// An app, a renderer and a terminal of the same size.
struct Term {
    app: App,
    buffer: Buffer,
    renderer: Renderer,
    vt: vt100::Parser,
    keys: InputParser,
}

impl Term {
    fn new(width: u16, height: u16) -> Term {
        let mut term = Term {
            app: App::logged_in("Test BBS", width, height, "ann", "Welcome, ann."),
            buffer: Buffer::new(width, height),
            renderer: Renderer::new(),
            vt: vt100::Parser::new(height, width, 0),
            keys: InputParser::new(),
        };
        term.draw();
        term
    }

    fn draw(&mut self) {
        let mut out = Vec::new();
        if self.app.take_redraw() {
            self.renderer.invalidate();
        }
        self.app.draw(&mut self.buffer);
        self.renderer.render(&self.buffer, &mut out);
        self.vt.process(&out);
    }

    /// Types `bytes` as a terminal would send them; returns the effects.
    fn type_bytes(&mut self, bytes: &[u8]) -> Vec<Effect> {
        let mut inputs = Vec::new();
        self.keys.feed(bytes, &mut inputs);
        let mut effects = Vec::new();
        for input in inputs {
            effects.extend(self.app.input(input));
        }
        self.draw();
        effects
    }

    fn data(&mut self, data: Data) {
        self.app.data(data);
        self.draw();
    }

    fn resize(&mut self, width: u16, height: u16) {
        self.app.resize(width, height);
        self.vt.set_size(height, width);
        self.draw();
    }

    fn rows(&self) -> Vec<String> {
        let screen = self.vt.screen();
        screen.rows(0, screen.size().1).map(|row| row.trim_end().to_owned()).collect()
    }

    fn text(&self) -> String {
        self.rows().join("\n")
    }

    /// The terminal shows exactly what the app drew.
    fn assert_in_sync(&self) {
        let expected: Vec<String> = (0..self.buffer.height()).map(|y| self.buffer.row_text(y)).collect();
        assert_eq!(self.rows(), expected);
    }
}

fn boards() -> Vec<BoardItem> {
    vec![
        BoardItem { index: 1, name: "Gossiping".into(), moderator: "ann".into(), unread: true },
        BoardItem { index: 2, name: "NCTU".into(), moderator: "bob".into(), unread: false },
    ]
}

fn posts() -> Vec<PostItem> {
    (1..=40)
        .map(|id| PostItem {
            id,
            title: if id == 40 {
                "今天天氣很好我們一起去爬山然後吃火鍋再去看電影最後回家睡覺好不好呢朋友們大家一起來".into()
            } else {
                format!("Post number {id}")
            },
            author: "bob".into(),
            date: "12/01".into(),
            pushes: if id == 40 { 100 } else { id as i64 - 5 },
            pinned: false,
            unread: id > 38,
        })
        .collect()
}

fn article() -> Article {
    Article {
        id: 40,
        is_mail: false,
        board: "Gossiping".into(),
        author: "bob".into(),
        title: "Hello".into(),
        date: "2026-12-01 00:00".into(),
        content: (1..=60).map(|i| format!("line {i} 中文")).collect::<Vec<_>>().join("\n"),
        comments: vec![CommentLine { kind: CommentKind::Push, author: "cy".into(), text: "nice".into() }],
    }
}

/// Main menu → boards → posts, answering each effect with data.
fn open_board(term: &mut Term) {
    assert_eq!(term.type_bytes(b"b"), vec![Effect::LoadBoards]);
    term.data(Data::Boards(boards()));
    assert_eq!(term.type_bytes(b"\r"), vec![Effect::LoadPosts { board: "Gossiping".into() }]);
    term.data(Data::Posts { board: "Gossiping".into(), posts: posts() });
}

#[test]
fn main_menu_board_list_post_list_and_reader_at_80x24() {
    let mut term = Term::new(80, 24);
    assert!(term.text().contains("(B)oards"), "{}", term.text());
    assert!(term.rows()[23].contains("Welcome, ann."), "the login notice is on the status line");
    open_board(&mut term);
    let text = term.text();
    assert!(text.contains("[Board: Gossiping]"), "{text}");
    // Opened at the newest post; 爆 for 100 pushes; the unread mark.
    let newest = term.rows().iter().find(|r| r.starts_with('>')).cloned().unwrap();
    assert!(newest.contains("40 +   爆"), "{newest}");
    assert!(term.vt.screen().cell(0, 0).unwrap().inverse(), "the title bar is reverse video");
    // Every row fits: the CJK title is cut at the width, never mid-character.
    for row in term.rows() {
        assert!(unicode_width::UnicodeWidthStr::width(row.as_str()) <= 80, "{row}");
    }
    assert!(newest.ends_with("再去看"), "{newest}");
    term.assert_in_sync();
    // Read it, scroll a page, go to the previous post, come back.
    assert_eq!(term.type_bytes(b"r"), vec![Effect::LoadPost { id: 40 }]);
    term.data(Data::Article(article()));
    assert!(term.text().contains(" Title   Hello"), "{}", term.text());
    assert!(term.rows()[23].contains("Lines 1-23/"), "{}", term.rows()[23]);
    term.type_bytes(b" ");
    assert!(term.rows()[23].contains("Lines 24-46/"), "{}", term.rows()[23]);
    assert!(term.text().contains("line 19 中文"));
    term.type_bytes(b"\x1b[6~\x1b[6~");
    assert!(term.text().contains("推 cy: nice"), "{}", term.text());
    assert_eq!(term.type_bytes(b"["), vec![Effect::LoadPost { id: 39 }]);
    term.type_bytes(b"q");
    assert_eq!(term.app.screen(), Screen::Posts);
    assert!(term.rows().iter().any(|r| r.starts_with(">") && r.contains("Post number 39")));
    term.assert_in_sync();
}

#[test]
fn larger_windows_use_the_room_and_a_resize_redraws_at_once() {
    let mut term = Term::new(120, 40);
    open_board(&mut term);
    let newest = term.rows().iter().find(|r| r.starts_with('>')).cloned().unwrap();
    assert!(newest.ends_with("好不好呢朋友們大家一起來"), "the whole title fits at 120: {newest}");
    // 36 rows of posts at 40 lines.
    assert_eq!(term.rows().iter().filter(|r| r.contains("  bob  ")).count(), 36);
    term.resize(80, 24);
    term.assert_in_sync();
    assert_eq!(term.rows().iter().filter(|r| r.contains("  bob  ")).count(), 20);
    assert!(term.rows().iter().any(|r| r.starts_with('>') && r.contains("40 +")));
    term.resize(100, 30);
    term.assert_in_sync();
    assert!(term.rows()[29].contains("h help"));
}

#[test]
fn a_message_waits_while_the_editor_is_open_then_shows() {
    let mut term = Term::new(80, 24);
    open_board(&mut term);
    term.type_bytes(b"\x10");
    assert!(term.rows()[23].starts_with("Post to Gossiping. Title:"), "{}", term.rows()[23]);
    term.type_bytes("標題 one\r".as_bytes());
    assert_eq!(term.app.screen(), Screen::Editor);
    term.type_bytes("第一行\rsecond".as_bytes());
    term.app.message("bob told you: lunch?");
    term.draw();
    assert!(!term.text().contains("lunch?"), "held while the editor has the focus");
    assert!(term.rows()[23].contains("1 message(s) waiting"), "{}", term.rows()[23]);
    // The cursor sits after the typed text (width-aware: row 2 is "second").
    assert_eq!(term.vt.screen().cursor_position(), (2, 6));
    term.type_bytes(b"\x1b[A");
    assert_eq!(term.vt.screen().cursor_position(), (1, 6), "after 第一行, 3 wide characters");
    let effects = term.type_bytes(b"\x18s");
    assert_eq!(
        effects,
        vec![
            Effect::SubmitPost {
                board: "Gossiping".into(),
                title: "標題 one".into(),
                content: "第一行\nsecond".into()
            },
            Effect::LoadPosts { board: "Gossiping".into() },
        ]
    );
    assert!(term.rows()[23].contains("bob told you: lunch?"), "{}", term.rows()[23]);
    // Ctrl-R answers it.
    term.type_bytes(b"\x12");
    assert!(term.rows()[23].starts_with("Reply to bob:"));
    assert_eq!(term.type_bytes(b"yes\r"), vec![Effect::Tell { to: "bob".into(), message: "yes".into() }]);
    term.assert_in_sync();
}

#[test]
fn push_boo_and_comment_from_the_reader() {
    let mut term = Term::new(80, 24);
    open_board(&mut term);
    term.type_bytes(b"\r");
    term.data(Data::Article(article()));
    term.type_bytes(b"X");
    assert!(term.rows()[23].contains("1) 推  2) 噓  3) →"), "{}", term.rows()[23]);
    term.type_bytes(b"1");
    let effects = term.type_bytes("好文\r".as_bytes());
    assert_eq!(
        effects,
        vec![Effect::Comment { post: 40, kind: CommentKind::Push, text: "好文".into() }, Effect::LoadPost { id: 40 }]
    );
    term.type_bytes(b"%");
    assert!(term.rows()[23].starts_with("噓"));
    assert_eq!(term.type_bytes(b"meh\r")[0], Effect::Comment { post: 40, kind: CommentKind::Boo, text: "meh".into() });
    term.type_bytes(b"X3");
    assert_eq!(term.type_bytes(b"ok\r")[0], Effect::Comment { post: 40, kind: CommentKind::Arrow, text: "ok".into() });
}

#[test]
fn login_and_registration_happen_on_the_first_screen() {
    let mut app = App::new("Test BBS", 80, 24);
    let mut keys = InputParser::new();
    let mut run = |app: &mut App, bytes: &[u8]| {
        let mut inputs = Vec::new();
        keys.feed(bytes, &mut inputs);
        inputs.into_iter().flat_map(|input: Input| app.input(input)).collect::<Vec<_>>()
    };
    assert_eq!(
        run(&mut app, b"ann\rsecret\r"),
        vec![Effect::Login { username: "ann".into(), password: "secret".into() }]
    );
    let mut buffer = Buffer::new(80, 24);
    app.draw(&mut buffer);
    assert!(!buffer.text().contains("secret"), "the password never shows");
    app.data(Data::Answer("Login failed.".into()));
    app.draw(&mut buffer);
    assert!(buffer.row_text(23).contains("Login failed."));
    let mut app = App::new("Test BBS", 80, 24);
    assert_eq!(
        run(&mut app, b"new\rcy\rcy@example.org\rpw\r"),
        vec![Effect::Register { username: "cy".into(), email: "cy@example.org".into(), password: "pw".into() }]
    );
}

#[test]
fn help_lists_the_same_keys_the_hints_show() {
    let mut term = Term::new(80, 24);
    open_board(&mut term);
    assert!(term.rows()[1].contains("^P post"), "{}", term.rows()[1]);
    term.type_bytes(b"h");
    assert!(term.text().contains("Ctrl-P: write a post"), "{}", term.text());
    term.type_bytes(b"q");
    assert_eq!(term.app.screen(), Screen::Posts);
}

#[test]
fn online_mail_and_search_lists_open_what_their_rows_name() {
    use bbs_screen::app::{ListRow, Target};
    let mut term = Term::new(80, 24);
    // Online: Ctrl-U, then w on a user messages that user.
    assert_eq!(term.type_bytes(b"\x15"), vec![Effect::LoadOnline]);
    term.data(Data::Online(vec![
        ListRow { text: "ann                      0m".into(), target: Target::User("ann".into()) },
        ListRow { text: "bob                      3m".into(), target: Target::User("bob".into()) },
    ]));
    assert!(term.text().contains("[Online users]"));
    term.type_bytes(b"jw");
    assert!(term.rows()[23].starts_with("Message to bob:"), "{}", term.rows()[23]);
    assert_eq!(term.type_bytes(b"hi\r"), vec![Effect::Tell { to: "bob".into(), message: "hi".into() }]);
    // Mail: read the first one, answer it.
    term.type_bytes(b"q");
    assert_eq!(term.type_bytes(b"m"), vec![Effect::LoadMail]);
    term.data(Data::Mail(vec![ListRow { text: "    1  bob   12/01  lunch".into(), target: Target::Mail(1) }]));
    assert_eq!(term.type_bytes(b"\r"), vec![Effect::ReadMail { number: 1 }]);
    term.data(Data::Article(Article {
        id: 1,
        is_mail: true,
        board: String::new(),
        author: "bob".into(),
        title: "lunch".into(),
        date: "2026-12-01".into(),
        content: "at noon?".into(),
        comments: Vec::new(),
    }));
    assert!(term.text().contains(" From    bob"), "{}", term.text());
    term.type_bytes(b"y");
    assert_eq!(term.app.screen(), Screen::Editor);
    assert!(term.rows()[0].contains("[Mail to bob] Re: lunch"), "{}", term.rows()[0]);
    term.type_bytes(b"yes");
    assert_eq!(
        term.type_bytes(b"\x18s"),
        vec![Effect::SubmitMail { to: "bob".into(), subject: "Re: lunch".into(), content: "yes".into() }]
    );
    // Search from the reader's list: results open their post.
    term.type_bytes(b"qq");
    assert_eq!(term.app.screen(), Screen::Main);
    assert_eq!(term.type_bytes(b"/"), vec![]);
    assert_eq!(term.type_bytes("天氣\r".as_bytes()), vec![Effect::Search { words: "天氣".into() }]);
    term.data(Data::SearchHits {
        words: "天氣".into(),
        rows: vec![ListRow { text: "    40  Gossiping  bob  今天天氣很好".into(), target: Target::Post(40) }],
    });
    assert!(term.text().contains("[Search: 天氣]"));
    assert_eq!(term.type_bytes(b"\r"), vec![Effect::LoadPost { id: 40 }]);
    term.assert_in_sync();
}
