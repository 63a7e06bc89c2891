use fake_github::{FakeConfig, FakeGitHub, Role};
use secrecy::SecretString;

use super::*;

const PUBLIC_PEM: &str = include_str!("../../fixtures/test-app-key.pub.pem");

async fn fake() -> FakeGitHub {
    let f = FakeGitHub::start(FakeConfig::new(4242, PUBLIC_PEM))
        .await
        .expect("fake");
    f.add_installation(1, "octo");
    f.add_repo(1, "octo/app", "main").expect("repo");
    f
}

fn client(f: &FakeGitHub) -> UserClient {
    UserClient::new(f.url(), f.url()).expect("client")
}

#[tokio::test]
async fn a_bad_code_or_secret_is_a_refusal_with_githubs_reason() {
    let f = fake().await;
    let c = client(&f);
    let secret = SecretString::from(f.client_secret());
    let err = c
        .exchange_code(
            &f.client_id(),
            &secret,
            "madeup",
            "http://g.test/auth/callback",
        )
        .await
        .expect_err("bad code");
    assert!(
        matches!(&err, UserError::Refused { error, .. } if error == "bad_verification_code"),
        "{err:?}"
    );
    let wrong = SecretString::from("wrong".to_owned());
    let err = c
        .exchange_code(
            &f.client_id(),
            &wrong,
            "madeup",
            "http://g.test/auth/callback",
        )
        .await
        .expect_err("bad secret");
    assert!(
        matches!(&err, UserError::Refused { error, .. } if error == "incorrect_client_credentials")
    );
    assert!(!err.to_string().contains("wrong"));
}

#[tokio::test]
async fn the_token_says_who_and_what_they_may_read() {
    let f = fake().await;
    f.add_repo(1, "octo/secret", "main").expect("repo");
    f.set_private("octo/secret", true).expect("private");
    f.set_permission("octo/secret", "bob", Role::Maintain)
        .expect("role");
    let c = client(&f);
    let bob = SecretString::from(f.user_token("bob"));
    let alice = SecretString::from(f.user_token("alice"));
    let me = c.current_user(&bob).await.expect("user");
    assert_eq!(me.login, "bob");
    assert_eq!(
        c.repo_access(&bob, "octo/secret").await,
        Ok(RepoAccess::Readable {
            permission: "maintain".into()
        })
    );
    assert_eq!(
        c.repo_access(&alice, "octo/secret").await,
        Ok(RepoAccess::NotFound)
    );
    assert_eq!(
        c.repo_access(&alice, "octo/app").await,
        Ok(RepoAccess::Readable {
            permission: "read".into()
        })
    );
    for bad in [
        "octo",
        "octo/app/x",
        "../etc",
        "octo/..",
        "a b/c",
        "octo/app?x=1",
        "",
    ] {
        assert!(
            matches!(c.repo_access(&alice, bad).await, Err(UserError::BadName(_))),
            "{bad}"
        );
    }
    let revoked = SecretString::from("ghu_revoked".to_owned());
    assert_eq!(c.current_user(&revoked).await, Err(UserError::Unauthorized));
    assert_eq!(
        c.repo_access(&revoked, "octo/app").await,
        Err(UserError::Unauthorized)
    );
}

#[tokio::test]
async fn an_unreachable_github_is_a_transport_error() {
    let c = UserClient::new("http://127.0.0.1:9", "http://127.0.0.1:9").expect("client");
    let t = SecretString::from("ghu_x".to_owned());
    assert!(matches!(
        c.current_user(&t).await,
        Err(UserError::Transport { .. })
    ));
}

#[test]
fn tokens_are_not_in_debug_output() {
    let t = UserToken {
        token: SecretString::from("ghu_verysecret".to_owned()),
        expires_in: Some(28_800),
    };
    assert!(!format!("{t:?}").contains("verysecret"));
}
