use deadbolt::load::parse_json;
#[test]
fn scratch_perf() {
    let mut s = String::from("{\"resources\": [");
    let mut i = 0;
    while s.len() < 50_000_000 {
        if i > 0 { s.push(','); }
        s.push_str(&format!("{{\"address\":\"aws_ebs_volume.v{i}\",\"type\":\"aws_ebs_volume\",\"values\":{{\"size\":{i},\"encrypted\":true,\"kms\":\"arn:aws:kms:us-east-1:123:key/é\\u00e9\",\"tags\":{{\"Name\":\"x\\ny\",\"f\":1.5e3}},\"list\":[1,2,3,null,false]}}}}"));
        i += 1;
    }
    s.push_str("]}");
    for _ in 0..3 {
    let t = std::time::Instant::now();
    let v = parse_json(&s, "big.json").unwrap();
    println!("json {} MB single line: {:?}", s.len() / 1_000_000, t.elapsed());
    let t = std::time::Instant::now();
    drop(v);
    println!("drop: {:?}", t.elapsed());
    }
}
