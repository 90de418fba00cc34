//! The screens of one session and what moves between them.
//!
//! An [`App`] is all the state a full-screen session keeps: a stack of
//! views (what `q` goes back to), the data last loaded for them, the
//! prompt being answered, and messages for the status line. Keys come in
//! through [`App::input`]; whatever needs the server goes out as
//! [`Effect`]s, and the door answers with [`Data`] through [`App::data`].
//! Nothing is drawn until [`App::draw`], so a door draws once per batch of
//! events, whatever the batch held.

use std::collections::VecDeque;

use crate::buffer::Buffer;
use crate::editor::Editor;
use crate::input::{Input, Key};
use crate::keys::{self, Action, Binding};

/// A board in the board list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardItem {
    pub index: u64,
    pub name: String,
    pub moderator: String,
    /// Posts this session has not read yet.
    pub unread: bool,
}

/// A post in a board's post list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostItem {
    pub id: u64,
    pub title: String,
    pub author: String,
    /// `MM/DD`.
    pub date: String,
    /// Pushes minus boos.
    pub pushes: i64,
    pub pinned: bool,
    pub unread: bool,
}

/// A comment under a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// 推
    Push,
    /// 噓
    Boo,
    /// →
    Arrow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentLine {
    pub kind: CommentKind,
    pub author: String,
    pub text: String,
}

/// A post or a mail, as the reader shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// The post's S/N, or the mail's number.
    pub id: u64,
    pub is_mail: bool,
    /// The post's board; for a mail, who sent it.
    pub board: String,
    pub author: String,
    pub title: String,
    pub date: String,
    pub content: String,
    pub comments: Vec<CommentLine>,
}

/// A row of the online, mail or search list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    /// What the row shows (columns already laid out by the door).
    pub text: String,
    /// What Enter opens: a post, a mail number, or a user to message.
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Post(u64),
    Mail(u64),
    User(String),
    None,
}

/// What the screens ask of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Login {
        username: String,
        password: String,
    },
    Register {
        username: String,
        email: String,
        password: String,
    },
    LoadBoards,
    LoadPosts {
        board: String,
    },
    LoadPost {
        id: u64,
    },
    LoadOnline,
    LoadMail,
    ReadMail {
        number: u64,
    },
    Search {
        words: String,
    },
    Comment {
        post: u64,
        kind: CommentKind,
        text: String,
    },
    SubmitPost {
        board: String,
        title: String,
        content: String,
    },
    SubmitMail {
        to: String,
        subject: String,
        content: String,
    },
    Tell {
        to: String,
        message: String,
    },
    /// Log out and close the connection.
    Quit,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// Logged in as this user; `notice` is what the server said.
    LoggedIn {
        user: String,
        notice: String,
    },
    /// A command's answer, shown on the status line.
    Answer(String),
    Boards(Vec<BoardItem>),
    Posts {
        board: String,
        posts: Vec<PostItem>,
    },
    Article(Article),
    Online(Vec<ListRow>),
    Mail(Vec<ListRow>),
    SearchHits {
        words: String,
        rows: Vec<ListRow>,
    },
}

/// Which screen a view is (selects its key table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Login,
    Main,
    Boards,
    Posts,
    Reader,
    Editor,
    Online,
    Mail,
    Search,
    Help,
}

/// A field of the login screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) label: &'static str,
    pub(crate) value: String,
    pub(crate) secret: bool,
}

/// One view on the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum View {
    Login { fields: Vec<Field>, focus: usize },
    Main { cursor: usize },
    Boards { cursor: usize },
    Posts { cursor: usize },
    Reader { top: usize },
    Editor { editor: Editor, purpose: Compose },
    Online { cursor: usize },
    Mail { cursor: usize },
    Search { cursor: usize },
    Help { of: Screen },
}

/// What the editor's text becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Compose {
    Post { board: String, title: String },
    Mail { to: String, subject: String },
}

/// What a prompt's answer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ask {
    /// One key: 1 推, 2 噓, 3 →.
    CommentKind {
        post: u64,
    },
    CommentText {
        post: u64,
        kind: CommentKind,
    },
    Search,
    MessageTo,
    MessageText {
        to: String,
    },
    PostTitle {
        board: String,
    },
    MailTo,
    MailSubject {
        to: String,
    },
    /// One key: save, abort or edit.
    EditorExit,
}

/// A question on the bottom line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub(crate) label: String,
    pub(crate) answer: String,
    pub(crate) ask: Ask,
}

impl Prompt {
    fn single_key(&self) -> bool {
        matches!(self.ask, Ask::CommentKind { .. } | Ask::EditorExit)
    }
}

/// Longest answer to a prompt (bytes); a message or a comment longer
/// than the server allows is refused by the server with its own answer.
const MAX_ANSWER: usize = 2000;

/// The main menu's rows: key letter, label, action.
pub(crate) const MENU: &[(&str, Action)] = &[
    ("(B)oards      the board list", Action::Boards),
    ("(M)ail        your mailbox", Action::Mail),
    ("(U)sers       who is online", Action::Online),
    ("(S)earch      search every post", Action::Search),
    ("(H)elp        keys", Action::Help),
    ("(G)oodbye     log out", Action::Logout),
];

/// A full-screen session's state.
#[derive(Debug, Clone)]
pub struct App {
    pub(crate) width: u16,
    pub(crate) height: u16,
    pub(crate) name: String,
    pub(crate) user: Option<String>,
    pub(crate) stack: Vec<View>,
    pub(crate) prompt: Option<Prompt>,
    /// Shown on the status line until the next key.
    pub(crate) status: Option<String>,
    /// Whether `status` is a message (kept until seen) or an answer.
    status_is_message: bool,
    /// Messages still to show (one per key press), and those held while
    /// the editor has the focus.
    pub(crate) waiting: VecDeque<String>,
    /// Who sent the last message (for Ctrl-R).
    pub(crate) last_sender: Option<String>,
    pub(crate) boards: Vec<BoardItem>,
    pub(crate) board: String,
    pub(crate) posts: Vec<PostItem>,
    pub(crate) article: Option<Article>,
    pub(crate) online: Vec<ListRow>,
    pub(crate) mail: Vec<ListRow>,
    pub(crate) search_words: String,
    pub(crate) hits: Vec<ListRow>,
    /// Whether the whole screen must be sent again (Ctrl-L).
    redraw: bool,
}

/// Most messages kept waiting; older ones are dropped first.
const MAX_WAITING: usize = 32;

impl App {
    /// A session on the login screen; `name` is the BBS's name for the
    /// title bar.
    pub fn new(name: &str, width: u16, height: u16) -> App {
        App {
            width: width.max(20),
            height: height.max(8),
            name: name.to_owned(),
            user: None,
            stack: vec![login_view()],
            prompt: None,
            status: None,
            status_is_message: false,
            waiting: VecDeque::new(),
            last_sender: None,
            boards: Vec::new(),
            board: String::new(),
            posts: Vec::new(),
            article: None,
            online: Vec::new(),
            mail: Vec::new(),
            search_words: String::new(),
            hits: Vec::new(),
            redraw: false,
        }
    }

    /// A session logged in already (an SSH login): the main menu.
    pub fn logged_in(name: &str, width: u16, height: u16, user: &str, notice: &str) -> App {
        let mut app = App::new(name, width, height);
        app.data(Data::LoggedIn { user: user.to_owned(), notice: notice.to_owned() });
        app
    }

    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// The terminal changed size; the next draw fits it.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.width = width.clamp(20, 500);
        self.height = height.clamp(8, 200);
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Which screen is in front.
    pub fn screen(&self) -> Screen {
        match self.view() {
            View::Login { .. } => Screen::Login,
            View::Main { .. } => Screen::Main,
            View::Boards { .. } => Screen::Boards,
            View::Posts { .. } => Screen::Posts,
            View::Reader { .. } => Screen::Reader,
            View::Editor { .. } => Screen::Editor,
            View::Online { .. } => Screen::Online,
            View::Mail { .. } => Screen::Mail,
            View::Search { .. } => Screen::Search,
            View::Help { .. } => Screen::Help,
        }
    }

    /// Whether the front screen shows `board`'s posts, or the board list
    /// (either changes when a post arrives there).
    pub fn post_arrived(&self, board: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        for view in &self.stack {
            match view {
                View::Boards { .. } => effects.push(Effect::LoadBoards),
                View::Posts { .. } if self.board == board => {
                    effects.push(Effect::LoadPosts { board: board.to_owned() })
                }
                _ => {}
            }
        }
        effects.dedup();
        effects
    }

    /// Whether [`App::draw`] must send the whole screen (Ctrl-L); clears it.
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    pub(crate) fn view(&self) -> &View {
        self.stack.last().expect("the view stack is never empty")
    }

    fn view_mut(&mut self) -> &mut View {
        self.stack.last_mut().expect("the view stack is never empty")
    }

    /// The key table of `screen`.
    pub fn table(screen: Screen) -> &'static [Binding] {
        match screen {
            Screen::Login => &[],
            Screen::Main => keys::MAIN,
            Screen::Boards => keys::BOARDS,
            Screen::Posts => keys::POSTS,
            Screen::Reader => keys::READER,
            Screen::Editor => keys::EDITOR,
            Screen::Online => keys::ONLINE_LIST,
            Screen::Mail => keys::MAIL,
            Screen::Search => keys::SEARCH_RESULTS,
            Screen::Help => keys::HELP_SCREEN,
        }
    }

    /// A message, notice or notification pushed by the server: on the
    /// status line at once, unless the editor has the focus (then held
    /// until it closes).
    pub fn message(&mut self, text: &str) {
        if let Some((sender, _)) = text.split_once(" told you: ") {
            self.last_sender = Some(sender.to_owned());
        }
        let text = text.replace('\n', " ");
        // A message never hides another one still unseen; it does replace
        // a command's answer.
        if self.screen() == Screen::Editor || (self.status.is_some() && self.status_is_message) {
            if self.waiting.len() == MAX_WAITING {
                self.waiting.pop_front();
            }
            self.waiting.push_back(text);
        } else {
            self.status = Some(text);
            self.status_is_message = true;
        }
    }

    /// A command's answer: on the status line at once, unless a message
    /// not yet seen is there (then the answer comes with the next key).
    fn answer(&mut self, text: &str) {
        let text = text.replace('\n', " ");
        if self.status.is_some() && self.status_is_message {
            self.waiting.push_front(text);
        } else {
            self.status = Some(text);
            self.status_is_message = false;
        }
    }

    /// Messages held while the editor is open.
    pub fn held(&self) -> usize {
        self.waiting.len()
    }

    /// Shows the next waiting message, if the editor is not in front.
    fn next_status(&mut self) {
        self.status = None;
        if self.screen() != Screen::Editor {
            self.status = self.waiting.pop_front();
            self.status_is_message = true;
        }
    }

    /// One key or paste.
    pub fn input(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.status.is_some() || !self.waiting.is_empty() {
            self.next_status();
        }
        match input {
            Input::Paste(text) => self.paste(&text),
            Input::Key(key) => self.key(key, &mut effects),
        }
        effects
    }

    fn paste(&mut self, text: &str) {
        if let Some(prompt) = &mut self.prompt {
            for c in text.chars().filter(|c| !c.is_control()) {
                if prompt.answer.len() + c.len_utf8() <= MAX_ANSWER {
                    prompt.answer.push(c);
                }
            }
            return;
        }
        match self.view_mut() {
            View::Editor { editor, .. } => editor.paste(text),
            View::Login { fields, focus } => {
                let field = &mut fields[*focus];
                field.value.extend(text.chars().filter(|c| !c.is_control()).take(MAX_ANSWER));
            }
            _ => {}
        }
    }

    fn key(&mut self, key: Key, effects: &mut Vec<Effect>) {
        if key == Key::Ctrl('l') {
            self.redraw = true;
            return;
        }
        if self.prompt.is_some() {
            self.prompt_key(key, effects);
            return;
        }
        let screen = self.screen();
        if screen == Screen::Login {
            self.login_key(key, effects);
            return;
        }
        let action = keys::lookup(App::table(screen), key);
        if screen == Screen::Editor {
            match action {
                Some(Action::Save) => self.ask("Save? (S)ave (A)bort (E)dit [S] ", Ask::EditorExit),
                Some(Action::DeleteLine) => {
                    if let View::Editor { editor, .. } = self.view_mut() {
                        editor.delete_line();
                    }
                }
                _ => {
                    if let View::Editor { editor, .. } = self.view_mut() {
                        editor.key(key);
                    }
                }
            }
            return;
        }
        if let Some(action) = action {
            self.act(screen, action, effects);
        }
    }

    fn login_key(&mut self, key: Key, effects: &mut Vec<Effect>) {
        let View::Login { fields, focus } = self.view_mut() else { return };
        match key {
            Key::Enter | Key::Tab | Key::Down => {
                if *focus == 0 && fields[0].value == "new" && fields.len() == 2 {
                    // Registration: name, e-mail and password.
                    *fields = vec![field("New username:", false), field("E-mail:", false), field("Password:", true)];
                    return;
                }
                if key == Key::Enter && *focus + 1 == fields.len() {
                    let values: Vec<String> = fields.iter().map(|f| f.value.clone()).collect();
                    if fields.len() == 2 {
                        effects.push(Effect::Login { username: values[0].clone(), password: values[1].clone() });
                    } else {
                        effects.push(Effect::Register {
                            username: values[0].clone(),
                            email: values[1].clone(),
                            password: values[2].clone(),
                        });
                    }
                    // The password is not kept on screen after an attempt.
                    fields.last_mut().expect("fields").value.clear();
                    return;
                }
                if !fields[*focus].value.is_empty() || key != Key::Enter {
                    *focus = (*focus + 1) % fields.len();
                }
            }
            Key::Up => *focus = focus.checked_sub(1).unwrap_or(fields.len() - 1),
            Key::Backspace => {
                fields[*focus].value.pop();
            }
            Key::Ctrl('u') => fields[*focus].value.clear(),
            Key::Char(c) if fields[*focus].value.len() + c.len_utf8() <= 200 => fields[*focus].value.push(c),
            Key::Ctrl('c') | Key::Ctrl('d') => effects.push(Effect::Quit),
            _ => {}
        }
    }

    fn ask(&mut self, label: &str, ask: Ask) {
        self.prompt = Some(Prompt { label: label.to_owned(), answer: String::new(), ask });
    }

    fn prompt_key(&mut self, key: Key, effects: &mut Vec<Effect>) {
        let prompt = self.prompt.as_mut().expect("a prompt");
        if prompt.single_key() {
            let prompt = self.prompt.take().expect("a prompt");
            self.single_key_answer(prompt.ask, key, effects);
            return;
        }
        match key {
            Key::Enter => {
                let prompt = self.prompt.take().expect("a prompt");
                let answer = prompt.answer.trim().to_owned();
                if !answer.is_empty() {
                    self.answered(prompt.ask, answer, effects);
                }
            }
            Key::Esc | Key::Ctrl('c') => self.prompt = None,
            Key::Backspace => {
                prompt.answer.pop();
            }
            Key::Ctrl('u') => prompt.answer.clear(),
            Key::Char(c) if prompt.answer.len() + c.len_utf8() <= MAX_ANSWER => prompt.answer.push(c),
            _ => {}
        }
    }

    fn single_key_answer(&mut self, ask: Ask, key: Key, effects: &mut Vec<Effect>) {
        match ask {
            Ask::CommentKind { post } => {
                let kind = match key {
                    Key::Char('1') | Key::Enter => CommentKind::Push,
                    Key::Char('2') => CommentKind::Boo,
                    Key::Char('3') => CommentKind::Arrow,
                    _ => return,
                };
                self.ask(comment_label(kind), Ask::CommentText { post, kind });
            }
            Ask::EditorExit => match key {
                Key::Char('s' | 'S') | Key::Enter => {
                    let Some(View::Editor { editor, purpose }) = self.stack.pop() else { return };
                    let content = editor.text();
                    match purpose {
                        Compose::Post { board, title } => {
                            effects.push(Effect::SubmitPost { board: board.clone(), title, content });
                            if self.stack.iter().any(|v| matches!(v, View::Posts { .. })) && self.board == board {
                                effects.push(Effect::LoadPosts { board });
                            }
                        }
                        Compose::Mail { to, subject } => {
                            effects.push(Effect::SubmitMail { to, subject, content });
                            if matches!(self.view(), View::Mail { .. }) {
                                effects.push(Effect::LoadMail);
                            }
                        }
                    }
                    self.next_status();
                }
                Key::Char('a' | 'A') => {
                    self.stack.pop();
                    self.answer("Not saved.");
                    self.waiting_after_editor();
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// After the editor closed: held messages come out.
    fn waiting_after_editor(&mut self) {
        if self.status.is_none() {
            self.status = self.waiting.pop_front();
            self.status_is_message = true;
        }
    }

    fn answered(&mut self, ask: Ask, answer: String, effects: &mut Vec<Effect>) {
        match ask {
            Ask::CommentText { post, kind } => {
                effects.push(Effect::Comment { post, kind, text: answer });
                if matches!(self.view(), View::Reader { .. }) {
                    effects.push(Effect::LoadPost { id: post });
                } else if matches!(self.view(), View::Posts { .. }) {
                    effects.push(Effect::LoadPosts { board: self.board.clone() });
                }
            }
            Ask::Search => {
                self.search_words = answer.clone();
                effects.push(Effect::Search { words: answer });
                if !matches!(self.view(), View::Search { .. }) {
                    self.stack.push(View::Search { cursor: 0 });
                } else if let View::Search { cursor } = self.view_mut() {
                    *cursor = 0;
                }
            }
            Ask::MessageTo => self.ask(&format!("Message to {answer}: "), Ask::MessageText { to: answer }),
            Ask::MessageText { to } => effects.push(Effect::Tell { to, message: answer }),
            Ask::PostTitle { board } => self
                .stack
                .push(View::Editor { editor: Editor::default(), purpose: Compose::Post { board, title: answer } }),
            Ask::MailTo => self.ask("Subject: ", Ask::MailSubject { to: answer }),
            Ask::MailSubject { to } => self
                .stack
                .push(View::Editor { editor: Editor::default(), purpose: Compose::Mail { to, subject: answer } }),
            Ask::CommentKind { .. } | Ask::EditorExit => {}
        }
    }

    /// Rows of the list in front, for moving the cursor.
    fn list_len(&self) -> usize {
        match self.view() {
            View::Main { .. } => MENU.len(),
            View::Boards { .. } => self.boards.len(),
            View::Posts { .. } => self.posts.len(),
            View::Online { .. } => self.online.len(),
            View::Mail { .. } => self.mail.len(),
            View::Search { .. } => self.hits.len(),
            _ => 0,
        }
    }

    /// Rows of the list area (all but the title, hints, header and status).
    pub(crate) fn page(&self) -> usize {
        usize::from(self.height.saturating_sub(4)).max(1)
    }

    fn cursor_mut(&mut self) -> Option<&mut usize> {
        match self.view_mut() {
            View::Main { cursor }
            | View::Boards { cursor }
            | View::Posts { cursor }
            | View::Online { cursor }
            | View::Mail { cursor }
            | View::Search { cursor } => Some(cursor),
            _ => None,
        }
    }

    fn act(&mut self, screen: Screen, action: Action, effects: &mut Vec<Effect>) {
        let len = self.list_len();
        let page = self.page();
        if screen == Screen::Reader {
            self.reader_action(action, effects);
            return;
        }
        if let Some(cursor) = self.cursor_mut() {
            let last = len.saturating_sub(1);
            let moved = match action {
                Action::Up => Some(if *cursor == 0 { last } else { *cursor - 1 }),
                Action::Down => Some(if *cursor >= last { 0 } else { *cursor + 1 }),
                Action::PageUp => Some(cursor.saturating_sub(page)),
                Action::PageDown => Some((*cursor + page).min(last)),
                Action::Top => Some(0),
                Action::Bottom => Some(last),
                _ => None,
            };
            if let Some(moved) = moved {
                *cursor = moved;
                return;
            }
        }
        match action {
            Action::Open => self.open(effects),
            Action::Back => self.back(effects),
            Action::Boards => {
                self.stack.push(View::Boards { cursor: 0 });
                effects.push(Effect::LoadBoards);
            }
            Action::Mail => {
                self.stack.push(View::Mail { cursor: 0 });
                effects.push(Effect::LoadMail);
            }
            Action::Online => {
                if screen != Screen::Online {
                    self.stack.push(View::Online { cursor: 0 });
                }
                effects.push(Effect::LoadOnline);
            }
            Action::Search => self.ask("Search: ", Ask::Search),
            Action::Help => self.stack.push(View::Help { of: screen }),
            Action::Logout => effects.push(Effect::Quit),
            Action::Message => match (screen, self.selected_target()) {
                (Screen::Online, Some(Target::User(name))) => {
                    self.ask(&format!("Message to {name}: "), Ask::MessageText { to: name })
                }
                _ => self.ask("Message to: ", Ask::MessageTo),
            },
            Action::ReplyMessage => match self.last_sender.clone() {
                Some(to) => self.ask(&format!("Reply to {to}: "), Ask::MessageText { to }),
                None => self.answer("No message to answer yet."),
            },
            Action::Post => match screen {
                Screen::Mail => self.ask("Mail to: ", Ask::MailTo),
                _ => {
                    self.ask(&format!("Post to {}. Title: ", self.board), Ask::PostTitle { board: self.board.clone() })
                }
            },
            Action::Push | Action::Boo | Action::Reply => {
                if let Some(Target::Post(id)) = self.selected_target() {
                    self.post_action(action, id);
                }
            }
            _ => {}
        }
    }

    /// What the cursor is on.
    fn selected_target(&self) -> Option<Target> {
        match self.view() {
            View::Posts { cursor } => self.posts.get(*cursor).map(|p| Target::Post(p.id)),
            View::Online { cursor } => self.online.get(*cursor).map(|r| r.target.clone()),
            View::Mail { cursor } => self.mail.get(*cursor).map(|r| r.target.clone()),
            View::Search { cursor } => self.hits.get(*cursor).map(|r| r.target.clone()),
            View::Reader { .. } => {
                self.article.as_ref().map(|a| if a.is_mail { Target::Mail(a.id) } else { Target::Post(a.id) })
            }
            _ => None,
        }
    }

    fn post_action(&mut self, action: Action, id: u64) {
        match action {
            Action::Push => self.ask("1) 推  2) 噓  3) →  [1] ", Ask::CommentKind { post: id }),
            Action::Boo => {
                self.ask(comment_label(CommentKind::Boo), Ask::CommentText { post: id, kind: CommentKind::Boo })
            }
            Action::Reply => {
                let title = match (&self.article, self.posts.iter().find(|p| p.id == id)) {
                    (Some(article), _) if article.id == id && !article.is_mail => article.title.clone(),
                    (_, Some(post)) => post.title.clone(),
                    _ => String::new(),
                };
                let board = match &self.article {
                    Some(article) if article.id == id && !article.is_mail => article.board.clone(),
                    _ => self.board.clone(),
                };
                let title = if title.starts_with("Re: ") { title } else { format!("Re: {title}") };
                self.stack.push(View::Editor { editor: Editor::default(), purpose: Compose::Post { board, title } });
            }
            _ => {}
        }
    }

    fn open(&mut self, effects: &mut Vec<Effect>) {
        match self.view().clone() {
            View::Main { cursor } => {
                let action = MENU[cursor.min(MENU.len() - 1)].1;
                self.act(Screen::Main, action, effects);
            }
            View::Boards { cursor } => {
                if let Some(board) = self.boards.get(cursor) {
                    let name = board.name.clone();
                    if self.board != name {
                        self.posts.clear();
                    }
                    self.board = name.clone();
                    self.stack.push(View::Posts { cursor: usize::MAX });
                    effects.push(Effect::LoadPosts { board: name });
                }
            }
            View::Posts { cursor } => {
                if let Some(post) = self.posts.get(cursor) {
                    let id = post.id;
                    self.open_article(effects, Effect::LoadPost { id });
                }
            }
            View::Mail { cursor } => {
                if let Some(Target::Mail(number)) = self.mail.get(cursor).map(|r| r.target.clone()) {
                    self.open_article(effects, Effect::ReadMail { number });
                }
            }
            View::Search { cursor } => {
                if let Some(Target::Post(id)) = self.hits.get(cursor).map(|r| r.target.clone()) {
                    self.open_article(effects, Effect::LoadPost { id });
                }
            }
            _ => {}
        }
    }

    fn open_article(&mut self, effects: &mut Vec<Effect>, load: Effect) {
        self.article = None;
        self.stack.push(View::Reader { top: 0 });
        effects.push(load);
    }

    fn reader_action(&mut self, action: Action, effects: &mut Vec<Effect>) {
        let lines = self.article_lines().len();
        let page = usize::from(self.height.saturating_sub(1)).max(1);
        let bottom = lines.saturating_sub(page);
        let View::Reader { top } = self.view_mut() else { return };
        match action {
            Action::Up => *top = top.saturating_sub(1),
            Action::Down => *top = (*top + 1).min(bottom),
            Action::PageUp => *top = top.saturating_sub(page),
            Action::PageDown => {
                if *top >= bottom {
                    // At the end: on to the next post, as PTT does.
                    self.neighbour(1, effects);
                } else {
                    *top = (*top + page).min(bottom);
                }
            }
            Action::Top => *top = 0,
            Action::Bottom => *top = bottom,
            Action::NextPost => self.neighbour(1, effects),
            Action::PreviousPost => self.neighbour(-1, effects),
            Action::Back => self.back(effects),
            Action::Push | Action::Boo | Action::Reply => match self.selected_target() {
                Some(Target::Post(id)) => self.post_action(action, id),
                Some(Target::Mail(_)) if action == Action::Reply => {
                    if let Some(article) = &self.article {
                        let subject = if article.title.starts_with("Re: ") {
                            article.title.clone()
                        } else {
                            format!("Re: {}", article.title)
                        };
                        let to = article.author.clone();
                        self.stack
                            .push(View::Editor { editor: Editor::default(), purpose: Compose::Mail { to, subject } });
                    }
                }
                _ => {}
            },
            other => {
                let screen = Screen::Reader;
                self.act_common(screen, other, effects);
            }
        }
    }

    /// Back to the view before, whose list is loaded again (counts and
    /// marks may have changed meanwhile).
    fn back(&mut self, effects: &mut Vec<Effect>) {
        self.stack.pop();
        match self.stack.last() {
            None => self.stack.push(View::Main { cursor: 0 }),
            Some(View::Boards { .. }) => effects.push(Effect::LoadBoards),
            Some(View::Posts { .. }) => effects.push(Effect::LoadPosts { board: self.board.clone() }),
            Some(View::Mail { .. }) => effects.push(Effect::LoadMail),
            Some(_) => {}
        }
    }

    /// Actions every screen shares (online, messages, help).
    fn act_common(&mut self, screen: Screen, action: Action, effects: &mut Vec<Effect>) {
        match action {
            Action::Online => {
                self.stack.push(View::Online { cursor: 0 });
                effects.push(Effect::LoadOnline);
            }
            Action::Help => self.stack.push(View::Help { of: screen }),
            Action::Message => self.ask("Message to: ", Ask::MessageTo),
            Action::ReplyMessage => match self.last_sender.clone() {
                Some(to) => self.ask(&format!("Reply to {to}: "), Ask::MessageText { to }),
                None => self.answer("No message to answer yet."),
            },
            _ => {}
        }
    }

    /// Opens the post `by` rows away in the list the reader came from.
    fn neighbour(&mut self, by: isize, effects: &mut Vec<Effect>) {
        let below = self.stack.len().checked_sub(2).map(|i| self.stack[i].clone());
        let (len, ids): (usize, Vec<Target>) = match below {
            Some(View::Posts { .. }) => (self.posts.len(), self.posts.iter().map(|p| Target::Post(p.id)).collect()),
            Some(View::Search { .. }) => (self.hits.len(), self.hits.iter().map(|r| r.target.clone()).collect()),
            Some(View::Mail { .. }) => (self.mail.len(), self.mail.iter().map(|r| r.target.clone()).collect()),
            _ => return,
        };
        let i = self.stack.len() - 2;
        let (View::Posts { cursor } | View::Search { cursor } | View::Mail { cursor }) = &mut self.stack[i] else {
            return;
        };
        let Some(next) = cursor.checked_add_signed(by).filter(|&n| n < len) else {
            self.answer(if by > 0 { "This is the last post." } else { "This is the first post." });
            return;
        };
        *cursor = next;
        let load = match &ids[next] {
            Target::Post(id) => Effect::LoadPost { id: *id },
            Target::Mail(number) => Effect::ReadMail { number: *number },
            _ => return,
        };
        if let View::Reader { top } = self.view_mut() {
            *top = 0;
        }
        effects.push(load);
    }

    /// What the server sent back.
    pub fn data(&mut self, data: Data) -> Vec<Effect> {
        match data {
            Data::LoggedIn { user, notice } => {
                self.user = Some(user);
                self.stack = vec![View::Main { cursor: 0 }];
                for line in notice.lines().filter(|l| !l.trim().is_empty()) {
                    self.message(line);
                }
            }
            Data::Answer(text) => {
                if !text.is_empty() {
                    self.answer(&text);
                }
            }
            Data::Boards(boards) => {
                self.boards = boards;
                let len = self.boards.len();
                for view in &mut self.stack {
                    if let View::Boards { cursor } = view {
                        *cursor = (*cursor).min(len.saturating_sub(1));
                    }
                }
            }
            Data::Posts { board, posts } => {
                if board == self.board {
                    self.posts = posts;
                    let len = self.posts.len();
                    for view in &mut self.stack {
                        if let View::Posts { cursor } = view {
                            // Opened at the newest post, as PTT does.
                            *cursor = if *cursor == usize::MAX { len.saturating_sub(1) } else { *cursor };
                            *cursor = (*cursor).min(len.saturating_sub(1));
                        }
                    }
                }
            }
            Data::Article(article) => {
                for post in &mut self.posts {
                    if post.id == article.id && !article.is_mail {
                        post.unread = false;
                    }
                }
                self.article = Some(article);
            }
            Data::Online(rows) => self.online = rows,
            Data::Mail(rows) => self.mail = rows,
            Data::SearchHits { words, rows } => {
                if words == self.search_words {
                    self.hits = rows;
                }
            }
        }
        Vec::new()
    }

    /// Draws the front screen into `buffer` (resized to the terminal).
    pub fn draw(&mut self, buffer: &mut Buffer) {
        if buffer.width() != self.width || buffer.height() != self.height {
            *buffer = Buffer::new(self.width, self.height);
        } else {
            buffer.clear();
        }
        crate::render::draw(self, buffer);
    }

    pub(crate) fn editor_mut(&mut self) -> Option<(&mut Editor, &Compose)> {
        match self.stack.last_mut() {
            Some(View::Editor { editor, purpose }) => Some((editor, purpose)),
            _ => None,
        }
    }
}

fn field(label: &'static str, secret: bool) -> Field {
    Field { label, value: String::new(), secret }
}

fn login_view() -> View {
    View::Login { fields: vec![field("Username:", false), field("Password:", true)], focus: 0 }
}

fn comment_label(kind: CommentKind) -> &'static str {
    match kind {
        CommentKind::Push => "推 ",
        CommentKind::Boo => "噓 ",
        CommentKind::Arrow => "→ ",
    }
}
