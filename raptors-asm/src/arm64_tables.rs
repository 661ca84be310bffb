//! yaxpeax-arm opcode tables: control flow, operation group, crypto, memory direction.
//! Matching is on the `Opcode` enum (decoder metadata), never on printed mnemonics.

use yaxpeax_arm::armv8::a64::Opcode;

use crate::insn::{Flow, Group};

pub(crate) fn flow(op: Opcode) -> Flow {
    use Opcode as O;
    match op {
        O::B => Flow::Jump,
        O::Bcc(_) | O::BCcc(_) | O::CBZ | O::CBNZ | O::TBZ | O::TBNZ => Flow::CondJump,
        O::BL => Flow::Call,
        O::BR | O::BRAA | O::BRAAZ | O::BRAB | O::BRABZ => Flow::IndirectJump,
        O::BLR | O::BLRAA | O::BLRAAZ | O::BLRAB | O::BLRABZ => Flow::IndirectCall,
        O::RET
        | O::RETAA
        | O::RETAB
        | O::RETAASPPC
        | O::RETABSPPC
        | O::RETAASPPCR
        | O::RETABSPPCR => Flow::Return,
        O::SVC
        | O::HVC
        | O::SMC
        | O::BRK
        | O::HLT
        | O::ERET
        | O::ERETAA
        | O::ERETAB
        | O::DRPS
        | O::UDF => Flow::Other,
        _ => Flow::Next,
    }
}

pub(crate) fn group(op: Opcode) -> Group {
    use Opcode as O;
    match op {
        O::FMLA
        | O::FMLS
        | O::FMLAL
        | O::FMLAL2
        | O::FMLSL
        | O::FMLSL2
        | O::FMADD
        | O::FMSUB
        | O::FNMADD
        | O::FNMSUB
        | O::MLA
        | O::MLS
        | O::SMLAL
        | O::SMLAL2
        | O::UMLAL
        | O::UMLAL2
        | O::SMLSL
        | O::SMLSL2
        | O::UMLSL
        | O::UMLSL2
        | O::SQDMLAL
        | O::SQDMLAL2
        | O::SQDMLSL
        | O::SQDMLSL2
        | O::SQRDMLAH
        | O::SQRDMLSH
        | O::SDOT
        | O::UDOT
        | O::FCMLA
        | O::SABA
        | O::UABA
        | O::SABAL
        | O::SABAL2
        | O::UABAL
        | O::UABAL2
        | O::SADALP
        | O::UADALP => Group::Fma,
        O::FADD
        | O::FSUB
        | O::FADDP
        | O::ADD
        | O::SUB
        | O::ADDP
        | O::ADDV
        | O::SADDL
        | O::SADDL2
        | O::UADDL
        | O::UADDL2
        | O::SADDW
        | O::SADDW2
        | O::UADDW
        | O::UADDW2
        | O::SSUBL
        | O::SSUBL2
        | O::USUBL
        | O::USUBL2
        | O::SSUBW
        | O::SSUBW2
        | O::USUBW
        | O::USUBW2
        | O::SQADD
        | O::UQADD
        | O::SQSUB
        | O::UQSUB
        | O::SHADD
        | O::UHADD
        | O::SRHADD
        | O::URHADD
        | O::SHSUB
        | O::UHSUB
        | O::ADDHN
        | O::ADDHN2
        | O::SUBHN
        | O::SUBHN2
        | O::RADDHN
        | O::RADDHN2
        | O::RSUBHN
        | O::RSUBHN2
        | O::SADDLP
        | O::UADDLP
        | O::SADDLV
        | O::UADDLV
        | O::SUQADD
        | O::USQADD
        | O::FCADD => Group::Add,
        O::FMUL
        | O::FDIV
        | O::FMAX
        | O::FMIN
        | O::FMAXNM
        | O::FMINNM
        | O::FNMUL
        | O::FMULX
        | O::FABS
        | O::FNEG
        | O::FSQRT
        | O::FABD
        | O::FRECPE
        | O::FRECPS
        | O::FRSQRTE
        | O::FRSQRTS
        | O::FRECPX
        | O::FMAXP
        | O::FMINP
        | O::FMAXNMP
        | O::FMINMNP
        | O::FMINNMP
        | O::FMAXV
        | O::FMINV
        | O::FMAXNMV
        | O::FMINNMV
        | O::MUL
        | O::PMUL
        | O::SMULL
        | O::SMULL2
        | O::UMULL
        | O::UMULL2
        | O::SQDMULH
        | O::SQRDMULH
        | O::SQDMULL
        | O::SQDMULL2
        | O::PMULL
        | O::PMULL2
        | O::SMAX
        | O::SMIN
        | O::UMAX
        | O::UMIN
        | O::SMAXP
        | O::SMINP
        | O::UMAXP
        | O::UMINP
        | O::SMAXV
        | O::SMINV
        | O::UMAXV
        | O::UMINV
        | O::SABD
        | O::UABD
        | O::SABDL
        | O::SABDL2
        | O::UABDL
        | O::UABDL2
        | O::ABS
        | O::NEG
        | O::SQABS
        | O::SQNEG
        | O::SSHR
        | O::USHR
        | O::SSRA
        | O::USRA
        | O::SRSHR
        | O::URSHR
        | O::SRSRA
        | O::URSRA
        | O::SHL
        | O::SQSHL
        | O::UQSHL
        | O::SQSHLU
        | O::SSHL
        | O::USHL
        | O::SRSHL
        | O::URSHL
        | O::SQRSHL
        | O::UQRSHL
        | O::SRI
        | O::SLI
        | O::CNT
        | O::CLZ
        | O::CLS
        | O::FRINTN
        | O::FRINTP
        | O::FRINTM
        | O::FRINTZ
        | O::FRINTA
        | O::FRINTX
        | O::FRINTI
        | O::FRINT32Z
        | O::FRINT32X
        | O::FRINT64Z
        | O::FRINT64X
        | O::URECPE
        | O::URSQRTE => Group::Arith,
        O::AND
        | O::ORR
        | O::ORN
        | O::EOR
        | O::BIC
        | O::BSL
        | O::BIT
        | O::BIF
        | O::NOT
        | O::EOR3
        | O::BCAX => Group::Logic,
        O::CMEQ
        | O::CMGE
        | O::CMGT
        | O::CMHI
        | O::CMHS
        | O::CMLE
        | O::CMLT
        | O::CMTST
        | O::FCMEQ
        | O::FCMGE
        | O::FCMGT
        | O::FCMLE
        | O::FCMLT
        | O::FACGE
        | O::FACGT
        | O::FCMP
        | O::FCMPE
        | O::FCCMP
        | O::FCCMPE => Group::Compare,
        O::FCVT
        | O::FCVTZS
        | O::FCVTZU
        | O::FCVTNS
        | O::FCVTNU
        | O::FCVTPS
        | O::FCVTPU
        | O::FCVTMS
        | O::FCVTMU
        | O::FCVTAS
        | O::FCVTAU
        | O::FCVTN
        | O::FCVTN2
        | O::FCVTL
        | O::FCVTL2
        | O::FCVTXN
        | O::FCVTXN2
        | O::SCVTF
        | O::UCVTF
        | O::BFCVT
        | O::FJCVTZS
        | O::XTN
        | O::XTN2
        | O::SQXTN
        | O::SQXTN2
        | O::UQXTN
        | O::UQXTN2
        | O::SQXTUN
        | O::SQXTUN2
        | O::SSHLL
        | O::SSHLL2
        | O::USHLL
        | O::USHLL2
        | O::SHLL
        | O::SHLL2
        | O::SHRN
        | O::SHRN2
        | O::RSHRN
        | O::RSHRN2
        | O::SQSHRN
        | O::SQSHRN2
        | O::SQRSHRN
        | O::SQRSHRN2
        | O::UQSHRN
        | O::UQSHRN2
        | O::UQRSHRN
        | O::UQRSHRN2
        | O::SQSHRUN
        | O::SQSHRUN2
        | O::SQRSHRUN
        | O::SQRSHRUN2 => Group::Convert,
        O::ZIP1
        | O::ZIP2
        | O::UZP1
        | O::UZP2
        | O::TRN1
        | O::TRN2
        | O::EXT
        | O::TBL
        | O::TBX
        | O::DUP
        | O::INS
        | O::REV16
        | O::REV32
        | O::REV64 => Group::Shuffle,
        O::LD1R | O::LD2R | O::LD3R | O::LD4R => Group::Broadcast,
        O::LDR
        | O::LDUR
        | O::LDP
        | O::LDNP
        | O::STR
        | O::STUR
        | O::STP
        | O::STNP
        | O::LD1
        | O::LD2
        | O::LD3
        | O::LD4
        | O::ST1
        | O::ST2
        | O::ST3
        | O::ST4
        | O::FMOV
        | O::MOVI
        | O::MVNI
        | O::UMOV
        | O::SMOV
        | O::FCSEL => Group::Move,
        _ => Group::Other,
    }
}

pub(crate) fn is_crypto(op: Opcode) -> bool {
    use Opcode as O;
    matches!(
        op,
        O::AESE
            | O::AESD
            | O::AESMC
            | O::AESIMC
            | O::SHA1H
            | O::SHA1SU1
            | O::SHA256SU0
            | O::SHA512H
            | O::SHA512H2
            | O::SHA512SU1
            | O::SHA512SU0
            | O::RAX1
            | O::BCAX
            | O::EOR3
            | O::XAR
            | O::SHA1C
            | O::SHA1P
            | O::SHA1M
            | O::SHA1SU0
            | O::SHA256H
            | O::SHA256H2
            | O::SHA256SU1
            | O::SM3TT1A
            | O::SM3TT1B
            | O::SM3TT2A
            | O::SM3TT2B
            | O::SM3PARTW1
            | O::SM3PARTW2
            | O::SM4EKEY
            | O::SM3SS1
            | O::SM4E
    )
}

/// (reads memory, writes memory) for load/store opcodes.
pub(crate) fn mem_access(op: Opcode) -> (bool, bool) {
    use Opcode as O;
    match op {
        O::LDR
        | O::LDRB
        | O::LDRSB
        | O::LDRSW
        | O::LDRSH
        | O::LDRH
        | O::LDUR
        | O::LDURB
        | O::LDURSB
        | O::LDURSW
        | O::LDURSH
        | O::LDURH
        | O::LDP
        | O::LDPSW
        | O::LDNP
        | O::LDTR
        | O::LDTRB
        | O::LDTRH
        | O::LDTRSB
        | O::LDTRSH
        | O::LDTRSW
        | O::LDAR
        | O::LDLAR
        | O::LDARB
        | O::LDLARB
        | O::LDAXRB
        | O::LDARH
        | O::LDLARH
        | O::LDAXP
        | O::LDAXR
        | O::LDAXRH
        | O::LDXP
        | O::LDXR
        | O::LDXRB
        | O::LDXRH
        | O::LD1
        | O::LD2
        | O::LD3
        | O::LD4
        | O::LD1R
        | O::LD2R
        | O::LD3R
        | O::LD4R
        | O::LDRAA
        | O::LDRAB
        | O::LDAPR
        | O::LDAPRH
        | O::LDAPRB
        | O::LDAPUR
        | O::LDAPURB
        | O::LDAPURH
        | O::LDAPURSB
        | O::LDAPURSH
        | O::LDAPURSW
        | O::LDG
        | O::LDGM => (true, false),
        O::STR
        | O::STRB
        | O::STRH
        | O::STRW
        | O::STUR
        | O::STURB
        | O::STURH
        | O::STP
        | O::STNP
        | O::STTR
        | O::STTRB
        | O::STTRH
        | O::STLR
        | O::STLLR
        | O::STLRB
        | O::STLLRB
        | O::STLRH
        | O::STLLRH
        | O::STLXP
        | O::STLXR
        | O::STLXRB
        | O::STLXRH
        | O::STXP
        | O::STXR
        | O::STXRB
        | O::STXRH
        | O::ST1
        | O::ST2
        | O::ST3
        | O::ST4
        | O::STLUR
        | O::STLURB
        | O::STLURH
        | O::STG
        | O::STZG
        | O::ST2G
        | O::STZ2G
        | O::STGM
        | O::STZGM => (false, true),
        O::SWP(_)
        | O::SWPB(_)
        | O::SWPH(_)
        | O::CAS(_)
        | O::CASH(_)
        | O::CASB(_)
        | O::CASP(_)
        | O::LDADD(_)
        | O::LDCLR(_)
        | O::LDEOR(_)
        | O::LDSET(_)
        | O::LDSMAX(_)
        | O::LDSMIN(_)
        | O::LDUMAX(_)
        | O::LDUMIN(_)
        | O::LDADDB(_)
        | O::LDCLRB(_)
        | O::LDEORB(_)
        | O::LDSETB(_)
        | O::LDSMAXB(_)
        | O::LDSMINB(_)
        | O::LDUMAXB(_)
        | O::LDUMINB(_)
        | O::LDADDH(_)
        | O::LDCLRH(_)
        | O::LDEORH(_)
        | O::LDSETH(_)
        | O::LDSMAXH(_)
        | O::LDSMINH(_)
        | O::LDUMAXH(_)
        | O::LDUMINH(_) => (true, true),
        _ => (false, false),
    }
}
