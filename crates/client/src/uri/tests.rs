use super::*;

fn failover(s: &str) -> FailoverUri {
    FailoverUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn opts(q: &str) -> FailoverOptions {
    failover(&format!("failover:(tcp://a:1)?{q}")).options
}

fn err(s: &str) -> UriError {
    BrokerUri::parse(s).expect_err(s)
}

fn ms(v: &[u64]) -> Vec<Duration> {
    v.iter().copied().map(Duration::from_millis).collect()
}

#[test]
fn tcp_host_port() {
    let t = TcpUri::parse("tcp://localhost:61616").unwrap();
    assert_eq!(t.host, "localhost");
    assert_eq!(t.port, 61616);
    assert!(t.options.is_empty());
    assert_eq!(t.addr(), "localhost:61616");
    assert_eq!(t.to_string(), "tcp://localhost:61616");
    assert_eq!(TcpUri::parse("tcp://h:1/").unwrap().port, 1);
}

#[test]
fn tcp_ipv6() {
    let t = TcpUri::parse("tcp://[::1]:61616").unwrap();
    assert_eq!(t.host, "::1");
    assert_eq!(t.addr(), "[::1]:61616");
}

#[test]
fn tcp_options_kept_in_order_and_decoded() {
    let t = TcpUri::parse(
        "tcp://h:1?wireFormat.maxInactivityDuration=1000&connectionTimeout=5%30&tcpNoDelay=true",
    )
    .unwrap();
    assert_eq!(
        t.options,
        vec![
            ("wireFormat.maxInactivityDuration".into(), "1000".into()),
            ("connectionTimeout".into(), "50".into()),
            ("tcpNoDelay".into(), "true".into()),
        ]
    );
    assert_eq!(t.option("wireFormat.maxInactivityDuration"), Some("1000"));
    assert_eq!(t.option("soTimeout"), None);
    assert_eq!(
        t.to_string(),
        "tcp://h:1?wireFormat.maxInactivityDuration=1000&connectionTimeout=50&tcpNoDelay=true"
    );
}

#[test]
fn tcp_errors() {
    for bad in [
        "tcp://h",
        "tcp://h:",
        "tcp://h:notaport",
        "tcp://h:70000",
        "tcp://:1",
        "tcp://h:1/path",
        "tcp://[::1:1",
        "tcp:h:1",
        "tcp://h:1?novalue",
        "tcp://h:1?=x",
        "tcp://h:1?a=%zz",
    ] {
        assert!(
            matches!(err(bad), UriError::Malformed { .. }),
            "{bad}: {:?}",
            err(bad)
        );
    }
    assert_eq!(
        err("tcp://h:1?a=1&a=2"),
        UriError::DuplicateOption {
            option: "a".into(),
            uri: "tcp://h:1?a=1&a=2".into()
        }
    );
}

#[test]
fn unsupported_scheme_and_no_scheme() {
    assert!(matches!(
        err("ssl://h:1"),
        UriError::UnsupportedScheme { scheme, .. } if scheme == "ssl"
    ));
    assert!(matches!(
        TcpUri::parse("nio://h:1"),
        Err(UriError::UnsupportedScheme { .. })
    ));
    assert!(matches!(err("localhost"), UriError::Malformed { .. }));
    assert!(matches!(
        err("failover:(ssl://h:1)"),
        UriError::UnsupportedScheme { .. }
    ));
}

#[test]
fn failover_defaults() {
    let f = failover("failover:(tcp://a:1,tcp://b:2)");
    assert_eq!(f.uris.len(), 2);
    assert_eq!(f.uris[1].addr(), "b:2");
    let o = &f.options;
    assert_eq!(*o, FailoverOptions::default());
    assert!(o.randomize);
    assert_eq!(
        o.reconnect.initial_reconnect_delay,
        Duration::from_millis(10)
    );
    assert_eq!(o.reconnect.max_reconnect_delay, Duration::from_secs(30));
    assert!(o.reconnect.use_exponential_back_off);
    assert_eq!(o.reconnect.reconnect_delay_exponent, 2.0);
    assert_eq!(o.reconnect.max_reconnect_attempts, None);
    assert_eq!(o.reconnect.startup_max_reconnect_attempts, None);
    assert_eq!(o.timeout, None);
    assert!(!o.priority_backup);
    assert!(o.priority_uris.is_empty());
    assert!(o.update_uris_supported);
    assert!(o.nested.is_empty());
    assert_eq!(f.to_string(), "failover:(tcp://a:1,tcp://b:2)");
}

#[test]
fn failover_forms() {
    let want = vec![
        TcpUri::parse("tcp://a:1").unwrap(),
        TcpUri::parse("tcp://b:2").unwrap(),
    ];
    for s in [
        "failover:(tcp://a:1,tcp://b:2)",
        "failover://(tcp://a:1,tcp://b:2)",
        "failover:( tcp://a:1 , tcp://b:2 )",
        "failover:tcp://a:1,tcp://b:2",
        "  failover:(tcp://a:1,tcp://b:2)  ",
    ] {
        assert_eq!(failover(s).uris, want, "{s}");
    }
    assert_eq!(failover("failover:tcp://a:1").uris, want[..1]);
}

#[test]
fn failover_without_parentheses_query_goes_to_last_uri() {
    let f = failover("failover:tcp://a:1,tcp://b:2?wireFormat.maxInactivityDuration=0");
    assert!(f.uris[0].options.is_empty());
    assert_eq!(
        f.uris[1].option("wireFormat.maxInactivityDuration"),
        Some("0")
    );
    assert_eq!(f.options, FailoverOptions::default());
    assert_eq!(
        err("failover:tcp://a:1?randomize=false"),
        UriError::FailoverOptionOnTcp {
            option: "randomize".into(),
            uri: "tcp://a:1?randomize=false".into()
        }
    );
    let msg = err("failover:tcp://a:1?randomize=false").to_string();
    assert!(
        msg.contains("randomize") && msg.contains("failover:(…)"),
        "{msg}"
    );
}

#[test]
fn nested_tcp_options_kept_per_uri() {
    let f = failover(
        "failover:(tcp://a:1?wireFormat.maxInactivityDuration=1000,tcp://b:2?soTimeout=5)?randomize=false",
    );
    assert_eq!(
        f.uris[0].option("wireFormat.maxInactivityDuration"),
        Some("1000")
    );
    assert_eq!(f.uris[0].option("soTimeout"), None);
    assert_eq!(f.uris[1].option("soTimeout"), Some("5"));
    assert!(!f.options.randomize);
}

#[test]
fn nested_prefix_applies_to_every_uri() {
    let f = failover(
        "failover:(tcp://a:1?wireFormat.maxInactivityDuration=1,tcp://b:2)?nested.wireFormat.maxInactivityDuration=9&nested.soTimeout=3",
    );
    assert_eq!(
        f.options.nested,
        vec![
            ("wireFormat.maxInactivityDuration".into(), "9".into()),
            ("soTimeout".into(), "3".into())
        ]
    );
    assert_eq!(
        f.uris[0].option("wireFormat.maxInactivityDuration"),
        Some("1")
    );
    for u in f.connect_uris() {
        assert_eq!(u.option("wireFormat.maxInactivityDuration"), Some("9"));
        assert_eq!(u.option("soTimeout"), Some("3"));
    }
    assert_eq!(BrokerUri::Failover(f.clone()).brokers(), f.connect_uris());
    assert!(matches!(
        err("failover:(tcp://a:1)?nested.=1"),
        UriError::UnknownOption { .. }
    ));
}

#[test]
fn option_randomize() {
    assert!(!opts("randomize=false").randomize);
    assert!(opts("randomize=TRUE").randomize);
}

#[test]
fn option_initial_and_max_reconnect_delay() {
    let o = opts("initialReconnectDelay=100&maxReconnectDelay=5000");
    assert_eq!(
        o.reconnect.initial_reconnect_delay,
        Duration::from_millis(100)
    );
    assert_eq!(o.reconnect.max_reconnect_delay, Duration::from_secs(5));
    assert_eq!(
        opts("initialReconnectDelay=0")
            .reconnect
            .initial_reconnect_delay,
        Duration::ZERO
    );
}

#[test]
fn option_use_exponential_back_off() {
    assert!(
        !opts("useExponentialBackOff=false")
            .reconnect
            .use_exponential_back_off
    );
}

#[test]
fn option_reconnect_delay_exponent() {
    assert_eq!(
        opts("reconnectDelayExponent=1.5")
            .reconnect
            .reconnect_delay_exponent,
        1.5
    );
    assert_eq!(
        opts("reconnectDelayExponent=3")
            .reconnect
            .reconnect_delay_exponent,
        3.0
    );
}

#[test]
fn option_max_and_startup_attempts() {
    let o = opts("maxReconnectAttempts=5&startupMaxReconnectAttempts=2");
    assert_eq!(o.reconnect.max_reconnect_attempts, Some(5));
    assert_eq!(o.reconnect.startup_max_reconnect_attempts, Some(2));
    assert_eq!(o.reconnect.attempt_limit(true), Some(2));
    assert_eq!(o.reconnect.attempt_limit(false), Some(5));
    let o = opts("maxReconnectAttempts=0&startupMaxReconnectAttempts=-1");
    assert_eq!(o.reconnect.max_reconnect_attempts, Some(0));
    assert_eq!(o.reconnect.attempt_limit(true), Some(0));
    assert_eq!(ReconnectPolicy::default().attempt_limit(true), None);
    assert_eq!(ReconnectPolicy::default().attempt_limit(false), None);
}

#[test]
fn option_timeout() {
    assert_eq!(opts("timeout=3000").timeout, Some(Duration::from_secs(3)));
    assert_eq!(opts("timeout=-1").timeout, None);
    assert_eq!(opts("timeout=0").timeout, None);
}

#[test]
fn option_priority_backup_and_uris() {
    let f = failover("failover:(tcp://a:1,tcp://b:2)?priorityBackup=true");
    assert!(f.options.priority_backup);
    assert!(f.options.is_priority(&f.uris[0], &f.uris));
    assert!(!f.options.is_priority(&f.uris[1], &f.uris));

    let f = failover(
        "failover:(tcp://a:1,tcp://b:2,tcp://c:3)?priorityBackup=true&priorityURIs=tcp://b:2,tcp://c:3",
    );
    assert_eq!(
        f.options.priority_uris,
        vec![
            TcpUri::parse("tcp://b:2").unwrap(),
            TcpUri::parse("tcp://c:3").unwrap()
        ]
    );
    assert!(!f.options.is_priority(&f.uris[0], &f.uris));
    assert!(f.options.is_priority(&f.uris[1], &f.uris));
    assert!(f.options.is_priority(&f.uris[2], &f.uris));

    // Encoded commas work too; without priorityBackup nothing is priority.
    let f = failover("failover:(tcp://a:1,tcp://b:2)?priorityURIs=tcp://a:1%2Ctcp://b:2");
    assert_eq!(f.options.priority_uris.len(), 2);
    assert!(!f.options.is_priority(&f.uris[0], &f.uris));
}

#[test]
fn priority_connect_uris_are_what_a_priority_backup_connection_moves_to() {
    // Without priorityBackup there is nothing to move to, priorityURIs or not.
    let f = failover("failover:(tcp://a:1,tcp://b:2)?priorityURIs=tcp://b:2");
    assert!(f.priority_connect_uris().is_empty());

    // Default: the first broker of the list, with the nested options.
    let f = failover(
        "failover:(tcp://a:1,tcp://b:2)?priorityBackup=true&nested.wireFormat.maxInactivityDuration=0",
    );
    let p = f.priority_connect_uris();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].addr(), "a:1");
    assert_eq!(p[0].option("wireFormat.maxInactivityDuration"), Some("0"));

    // priorityURIs, in their order.
    let f = failover(
        "failover:(tcp://a:1,tcp://b:2,tcp://c:3)?priorityBackup=true&priorityURIs=tcp://c:3,tcp://b:2",
    );
    let addrs: Vec<String> = f.priority_connect_uris().iter().map(TcpUri::addr).collect();
    assert_eq!(addrs, ["c:3", "b:2"]);
}

#[test]
fn option_update_uris_supported() {
    assert!(!opts("updateURIsSupported=false").update_uris_supported);
}

#[test]
fn all_options_together() {
    let o = opts(
        "randomize=false&initialReconnectDelay=1&maxReconnectDelay=2&useExponentialBackOff=false\
         &reconnectDelayExponent=4&maxReconnectAttempts=3&startupMaxReconnectAttempts=4&timeout=5\
         &priorityBackup=true&priorityURIs=tcp://a:1&updateURIsSupported=false",
    );
    assert_eq!(
        o,
        FailoverOptions {
            randomize: false,
            reconnect: ReconnectPolicy {
                initial_reconnect_delay: Duration::from_millis(1),
                max_reconnect_delay: Duration::from_millis(2),
                use_exponential_back_off: false,
                reconnect_delay_exponent: 4.0,
                max_reconnect_attempts: Some(3),
                startup_max_reconnect_attempts: Some(4),
            },
            timeout: Some(Duration::from_millis(5)),
            priority_backup: true,
            priority_uris: vec![TcpUri::parse("tcp://a:1").unwrap()],
            update_uris_supported: false,
            nested: vec![],
        }
    );
}

#[test]
fn unknown_option_is_named() {
    let e = err("failover:(tcp://a:1)?randomise=false");
    assert_eq!(
        e,
        UriError::UnknownOption {
            option: "randomise".into(),
            uri: "failover:(tcp://a:1)?randomise=false".into()
        }
    );
    assert!(e.to_string().contains("`randomise`"), "{e}");
    // Names are case-sensitive, as ActiveMQ's setters are.
    assert!(matches!(
        err("failover:(tcp://a:1)?Randomize=false"),
        UriError::UnknownOption { option, .. } if option == "Randomize"
    ));
}

#[test]
fn invalid_values() {
    for (q, option) in [
        ("randomize=yes", "randomize"),
        ("useExponentialBackOff=1", "useExponentialBackOff"),
        ("priorityBackup=", "priorityBackup"),
        ("updateURIsSupported=no", "updateURIsSupported"),
        ("initialReconnectDelay=-5", "initialReconnectDelay"),
        ("initialReconnectDelay=1s", "initialReconnectDelay"),
        ("maxReconnectDelay=x", "maxReconnectDelay"),
        ("reconnectDelayExponent=0", "reconnectDelayExponent"),
        ("reconnectDelayExponent=-2", "reconnectDelayExponent"),
        ("reconnectDelayExponent=NaN", "reconnectDelayExponent"),
        ("reconnectDelayExponent=inf", "reconnectDelayExponent"),
        ("maxReconnectAttempts=-2", "maxReconnectAttempts"),
        ("maxReconnectAttempts=many", "maxReconnectAttempts"),
        (
            "startupMaxReconnectAttempts=99999999999",
            "startupMaxReconnectAttempts",
        ),
        ("timeout=-3", "timeout"),
        ("timeout=soon", "timeout"),
        ("priorityURIs=ssl://a:1", "priorityURIs"),
    ] {
        let s = format!("failover:(tcp://a:1)?{q}");
        match err(&s) {
            UriError::InvalidValue { option: o, .. } => assert_eq!(o, option, "{s}"),
            other => panic!("{s}: {other:?}"),
        }
    }
}

#[test]
fn failover_errors() {
    for bad in [
        "failover:",
        "failover:()",
        "failover:(tcp://a:1",
        "failover:(tcp://a:1)randomize=false",
        "failover:(failover:(tcp://a:1))",
        "failover:(tcp://a:1)?randomize",
    ] {
        assert!(
            matches!(err(bad), UriError::Malformed { .. }),
            "{bad}: {:?}",
            err(bad)
        );
    }
    assert!(matches!(
        err("failover:(tcp://a:1)?randomize=false&randomize=true"),
        UriError::DuplicateOption { option, .. } if option == "randomize"
    ));
    assert!(FailoverUri::parse("tcp://a:1").is_err());
}

#[test]
fn broker_uri_dispatch() {
    assert!(matches!(
        "tcp://a:1".parse::<BrokerUri>().unwrap(),
        BrokerUri::Tcp(_)
    ));
    let b: BrokerUri = "failover:(tcp://a:1)".parse().unwrap();
    assert!(matches!(b, BrokerUri::Failover(_)));
    assert_eq!(b.brokers(), vec![TcpUri::parse("tcp://a:1").unwrap()]);
    assert_eq!(b.to_string(), "failover:(tcp://a:1)");
}

#[test]
fn delays_default_doubles_from_10ms_to_30s() {
    let d: Vec<_> = ReconnectPolicy::default().delays().take(16).collect();
    assert_eq!(
        d,
        ms(&[
            10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 30000, 30000, 30000,
            30000
        ])
    );
}

#[test]
fn delays_without_back_off_are_constant() {
    let p = opts("useExponentialBackOff=false&initialReconnectDelay=250").reconnect;
    assert_eq!(p.delays().take(4).collect::<Vec<_>>(), ms(&[250; 4]));
}

#[test]
fn delays_truncate_like_java_long_times_double() {
    // 10 * 1.5 = 15, 22.5 → 22, 33, 49.5 → 49, 73.5 → 73, capped at 100.
    let p = opts("reconnectDelayExponent=1.5&maxReconnectDelay=100").reconnect;
    assert_eq!(
        p.delays().take(8).collect::<Vec<_>>(),
        ms(&[10, 15, 22, 33, 49, 73, 100, 100])
    );
}

#[test]
fn delays_first_wait_is_not_capped_and_zero_stays_zero() {
    let p = opts("initialReconnectDelay=500&maxReconnectDelay=100").reconnect;
    assert_eq!(p.delays().take(3).collect::<Vec<_>>(), ms(&[500, 100, 100]));
    let p = opts("initialReconnectDelay=0").reconnect;
    assert_eq!(p.delays().take(3).collect::<Vec<_>>(), ms(&[0, 0, 0]));
}

#[test]
fn delays_saturate_instead_of_overflowing() {
    let p = opts("reconnectDelayExponent=1000000&maxReconnectDelay=18446744073709551615").reconnect;
    let d: Vec<_> = p.delays().take(6).collect();
    assert_eq!(d[5], Duration::from_millis(u64::MAX));
}
