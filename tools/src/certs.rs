//! `rustica certs`: makes a cluster's certificate authority, a certificate and
//! key per node (its addresses and names as subject alternative names) and a
//! client certificate, as PEM files (rcgen). Node certificates may serve
//! (`serverAuth`) and dial (`clientAuth`); the client's may only dial, which is
//! how nodes tell it from a node's. Existing files are never
//! overwritten, so the authority survives adding nodes later.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

#[derive(Debug, Clone, Args)]
pub struct CertsArgs {
    /// Where the files go.
    #[arg(long, default_value = "certs")]
    pub out: PathBuf,
    /// One node per value: a file name, then its names and addresses, separated by
    /// `+`, e.g. `node1+127.0.0.1+localhost`. Repeatable or comma-separated.
    #[arg(long = "node", value_delimiter = ',', required = true)]
    pub nodes: Vec<String>,
    /// The client certificate's common name.
    #[arg(long, default_value = "client")]
    pub client: String,
    /// Validity of every certificate, in days.
    #[arg(long, default_value_t = 825)]
    pub days: u32,
}

fn write_new(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    if path.exists() {
        bail!("{} exists already; remove it to make a new one", path.display());
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn validity(params: &mut CertificateParams, days: u32) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(days));
}

fn named(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "rustica");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Loads the authority from `out` (ca.crt, ca.key) or makes it.
fn authority(out: &Path, days: u32) -> anyhow::Result<Issuer<'static, KeyPair>> {
    let (cert_path, key_path) = (out.join("ca.crt"), out.join("ca.key"));
    if cert_path.exists() && key_path.exists() {
        let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?).context("ca.key is not a PEM private key")?;
        let issuer = Issuer::from_ca_cert_pem(&std::fs::read_to_string(&cert_path)?, key).context("ca.crt is not a PEM certificate")?;
        println!("using the authority in {}", cert_path.display());
        return Ok(issuer);
    }
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = named("rustica cluster authority");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, days);
    let cert = params.self_signed(&key)?;
    write_new(&cert_path, &cert.pem(), false)?;
    write_new(&key_path, &key.serialize_pem(), true)?;
    println!("made the cluster authority {}", cert_path.display());
    Ok(Issuer::new(params, key))
}

/// Whose certificate: a node's serves clients and dials its peers (mutual TLS);
/// a client's only dials. Nodes take only certificates that may serve for
/// peers, so a client certificate cannot join the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Node,
    Client,
}

fn issue(out: &Path, file: &str, holder: Holder, names: Vec<String>, issuer: &Issuer<'_, KeyPair>, days: u32) -> anyhow::Result<()> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.clone()).with_context(|| format!("bad names for {file}: {names:?}"))?;
    params.distinguished_name = named(file);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = match holder {
        Holder::Node => vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        Holder::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    validity(&mut params, days);
    let cert = params.signed_by(&key, issuer)?;
    let (cert_path, key_path) = (out.join(format!("{file}.crt")), out.join(format!("{file}.key")));
    write_new(&cert_path, &cert.pem(), false)?;
    write_new(&key_path, &key.serialize_pem(), true)?;
    println!("made {} for {}", cert_path.display(), names.join(", "));
    Ok(())
}

pub fn run(args: CertsArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let issuer = authority(&args.out, args.days)?;
    for node in &args.nodes {
        let mut parts = node.split('+').map(str::trim).filter(|p| !p.is_empty());
        let Some(file) = parts.next() else { bail!("an empty --node") };
        let mut names: Vec<String> = parts.map(str::to_string).collect();
        if names.is_empty() {
            names.push(file.to_string());
        }
        issue(&args.out, file, Holder::Node, names, &issuer, args.days)?;
    }
    issue(
        &args.out,
        &args.client,
        Holder::Client,
        vec![args.client.clone()],
        &issuer,
        args.days,
    )?;
    println!("private keys (*.key) stay on their machines: never commit them");
    Ok(())
}
