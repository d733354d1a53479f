//! Bad input: a record the consumer's codec cannot decode goes to the
//! dead-letter stream with the reason, is acknowledged, and processing goes
//! on; a serde type travels through the `Json` codec.

mod common;

use std::time::Duration;

use common::{codec, records, within, RedisServer};
use confluo_redis::{codec_fn, Consumer, Producer, Run};

#[test]
fn undecodable_records_go_to_the_dead_letters_and_the_rest_goes_on() {
    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("letters").idle_poll(Duration::from_millis(5));
    let mut con = server.connection();
    within(Duration::from_secs(30), move || {
        // Every record of seq 3 is written as something the consumer's
        // codec refuses.
        let writer = codec_fn(
            |r: &(u32, u32), out: &mut Vec<u8>| {
                let text = if r.1 == 3 {
                    format!("{}:three", r.0)
                } else {
                    format!("{}:{}", r.0, r.1)
                };
                out.extend_from_slice(text.as_bytes());
            },
            |_| Err("write only".to_string()),
        );
        let mut producer = Producer::open(&run, &url, 0, writer, |r| r.0).unwrap();
        producer.send_all(records(4, 10)).unwrap();
        producer.finish().unwrap();

        let mut consumer = Consumer::open(&run, &url, codec()).unwrap();
        let seqs: Vec<u32> = consumer.by_ref().map(|d| d.unwrap().1).collect();
        assert_eq!(seqs.len(), 36);
        assert!(!seqs.contains(&3));
        assert_eq!(consumer.stats().dead_lettered, 4);
        let status = run.status(&url).unwrap();
        assert_eq!((status.dead_lettered, status.acknowledged), (4, 40));

        let letters: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(run.dead_letter_key())
            .arg("-")
            .arg("+")
            .query(&mut con)
            .unwrap();
        assert_eq!(letters.len(), 4);
        for (_, fields) in letters {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
            };
            assert_eq!(field("reason"), "\"three\" is not a number");
            assert!(field("d").ends_with(":three"));
            assert!(field("partition").parse::<u32>().unwrap() < 4);
            assert!(field("id").contains('-'));
        }
    });
}

#[cfg(feature = "serde")]
#[test]
fn serde_types_travel_as_json() {
    use confluo_redis::Json;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Reading {
        sensor: String,
        celsius: f64,
    }

    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("json").idle_poll(Duration::from_millis(5));
    within(Duration::from_secs(30), move || {
        let readings: Vec<Reading> = (0..50)
            .map(|i| Reading {
                sensor: format!("s{}", i % 5),
                celsius: f64::from(i) / 4.0,
            })
            .collect();
        let mut producer =
            Producer::open(&run, &url, 0, Json::new(), |r: &Reading| r.sensor.clone()).unwrap();
        producer.send_all(readings.clone()).unwrap();
        producer.finish().unwrap();
        let consumer = Consumer::open(&run, &url, Json::<Reading>::new()).unwrap();
        let mut got: Vec<Reading> = consumer.map(|d| d.unwrap().into_record()).collect();
        got.sort_by(|a, b| a.celsius.total_cmp(&b.celsius));
        assert_eq!(got, readings);
    });
}
