//! The survey page: plain HTML and a little script, no external assets (it must work offline and
//! on a phone). Every dynamic value is escaped.

use komek_domain::Lang;
use komek_domain::survey::Survey;

struct Texts {
    title: &'static str,
    intro: &'static str,
    csat: &'static str,
    comment: &'static str,
    send: &'static str,
    thanks: &'static str,
    done: &'static str,
    failed: &'static str,
    pick: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::Kk => Texts {
            title: "Komek — сауалнама",
            intro: "Өтініш {number} бойынша қызмет көрсету сапасын бағалаңыз.",
            csat: "Қызметке қаншалықты риза болдыңыз? (1 — мүлдем риза емеспін, 5 — өте ризамын)",
            comment: "Пікіріңіз (міндетті емес)",
            send: "Жіберу",
            thanks: "Рақмет! Жауабыңыз сақталды.",
            done: "Бұл сауалнамаға жауап берілген.",
            failed: "Жіберу сәтсіз аяқталды. Қайталап көріңіз.",
            pick: "Бағаны таңдаңыз.",
        },
        Lang::Ru => Texts {
            title: "Komek — опрос",
            intro: "Оцените, пожалуйста, качество обслуживания по обращению {number}.",
            csat: "Насколько вы довольны обслуживанием? (1 — совсем недоволен, 5 — очень доволен)",
            comment: "Ваш комментарий (необязательно)",
            send: "Отправить",
            thanks: "Спасибо! Ваш ответ сохранён.",
            done: "На этот опрос уже ответили.",
            failed: "Не удалось отправить. Попробуйте ещё раз.",
            pick: "Выберите оценку.",
        },
        Lang::En => Texts {
            title: "Komek — survey",
            intro: "Please rate the service you received for request {number}.",
            csat: "How satisfied are you? (1 — very dissatisfied, 5 — very satisfied)",
            comment: "Your comment (optional)",
            send: "Send",
            thanks: "Thank you! Your answer has been saved.",
            done: "This survey has already been answered.",
            failed: "Sending failed. Please try again.",
            pick: "Please choose a score.",
        },
    }
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a JavaScript string literal inside a script element.
fn js(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

pub fn survey(s: &Survey, token: &str) -> String {
    let t = texts(s.language);
    let intro = escape(&t.intro.replace("{number}", &s.number.0));
    let radios: String = (1..=5)
        .map(|n| format!(r#"<label class="score"><input type="radio" name="csat" value="{n}" required> {n}</label>"#))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222}}
.scores{{display:flex;gap:.75rem;margin:.5rem 0 1rem}}.score{{font-size:1.2rem}}textarea{{width:100%;min-height:6rem}}
button{{font-size:1.1rem;padding:.5rem 1.5rem;margin-top:1rem}}#msg{{margin-top:1rem;font-weight:600}}</style></head>
<body><h1>{title}</h1><p id="intro">{intro}</p>
<form id="survey"><fieldset><legend>{csat}</legend><div class="scores">{radios}</div></fieldset>
<label for="comment">{comment}</label><textarea id="comment" name="comment" maxlength="2000"></textarea>
<button type="submit" id="send">{send}</button></form><p id="msg" role="status"></p>
<script>
const T={{thanks:{thanks},done:{done},failed:{failed},pick:{pick}}};
const form=document.getElementById('survey'),msg=document.getElementById('msg');
form.addEventListener('submit',async(e)=>{{e.preventDefault();
const c=form.querySelector('input[name=csat]:checked');if(!c){{msg.textContent=T.pick;return;}}
const body={{csat:Number(c.value)}};const comment=document.getElementById('comment').value.trim();if(comment)body.comment=comment;
try{{const r=await fetch('/api/v1/surveys/'+encodeURIComponent({token})+'/responses',{{method:'POST',headers:{{'content-type':'application/json'}},body:JSON.stringify(body)}});
if(r.status===201){{form.hidden=true;msg.textContent=T.thanks;}}else if(r.status===409){{form.hidden=true;msg.textContent=T.done;}}else{{msg.textContent=T.failed;}}}}
catch(_){{msg.textContent=T.failed;}}}});
</script></body></html>"#,
        lang = s.language.as_str(),
        title = escape(t.title),
        csat = escape(t.csat),
        comment = escape(t.comment),
        send = escape(t.send),
        thanks = js(t.thanks),
        done = js(t.done),
        failed = js(t.failed),
        pick = js(t.pick),
        token = js(token),
    )
}

pub fn not_found() -> String {
    r#"<!doctype html><html><head><meta charset="utf-8"><title>Komek</title></head><body>
<h1>Сауалнама табылмады · Опрос не найден · Survey not found</h1>
<p>Сілтеме қате немесе мерзімі өткен. Ссылка неверна или устарела. The link is wrong or has expired.</p></body></html>"#
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_script_breakouts() {
        assert_eq!(
            escape(r#"<script>"x"&'"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert!(!js("</script>").contains("</script>"));
    }
}
